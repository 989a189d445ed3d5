/** One server-sent event. */
export interface SseEvent {
  /** The `event:` field; "message" when absent, as the spec says. */
  event: string;
  /** The `data:` lines joined with "\n". */
  data: string;
  /** The `id:` field, when present. */
  id?: string;
}

/** Thrown when one event grows past the size bound: a provider (or an attacker) sends no end. */
export class SseEventTooLargeError extends Error {
  override readonly name = "SseEventTooLargeError";
}

/** Options of {@link parseSse}. */
export interface SseParseOptions {
  /** Largest event accepted, in characters (default 1 MiB). */
  maxEventChars?: number;
}

/**
 * Parses a `text/event-stream` body into events, following the WHATWG HTML rules: lines end in
 * CRLF, LF or CR (a CR at the end of one chunk and an LF at the start of the next are one
 * ending); `:` lines are comments; one leading space after the colon is dropped; an event is
 * dispatched at a blank line; an event with no data is not dispatched; a last event without its
 * blank line is dropped (the stream was cut — adapters detect that by the missing terminator).
 * UTF-8 sequences split across chunks are decoded correctly.
 */
export async function* parseSse(body: AsyncIterable<Uint8Array>, opts: SseParseOptions = {}): AsyncGenerator<SseEvent> {
  const max = opts.maxEventChars ?? 1024 * 1024;
  const decoder = new TextDecoder("utf-8");
  let buffer = "";
  let skipLeadingLf = false;
  let event = "";
  let data: string[] = [];
  let dataChars = 0;
  let id: string | undefined;

  const take = (line: string): SseEvent | undefined => {
    if (line === "") {
      const out = data.length > 0 ? { event: event || "message", data: data.join("\n"), ...(id === undefined ? {} : { id }) } : undefined;
      event = "";
      data = [];
      dataChars = 0;
      return out;
    }
    if (line.startsWith(":")) return undefined;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") {
      dataChars += value.length + 1;
      if (dataChars > max) throw new SseEventTooLargeError(`server-sent event larger than ${max} characters`);
      data.push(value);
    } else if (field === "event") event = value;
    else if (field === "id" && !value.includes("\0")) id = value;
    return undefined;
  };

  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let start = 0;
    // Decided by the first character that arrives: an empty chunk (or an incomplete UTF-8
    // sequence) between a CR and its LF must not make the LF a second, blank line.
    if (buffer === "") continue;
    if (skipLeadingLf && buffer.startsWith("\n")) start = 1;
    skipLeadingLf = false;
    for (let i = start; i < buffer.length; i++) {
      const c = buffer.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      const out = take(buffer.slice(start, i));
      if (out) yield out;
      if (c === 13) {
        if (i + 1 === buffer.length) skipLeadingLf = true;
        else if (buffer.charCodeAt(i + 1) === 10) i++;
      }
      start = i + 1;
    }
    buffer = buffer.slice(start);
    if (buffer.length > max) throw new SseEventTooLargeError(`server-sent event line longer than ${max} characters`);
  }
  buffer += decoder.decode();
  // A final line without its ending, and an event without its blank line, are incomplete: dropped.
}
