/**
 * Reading an OpenAI Chat Completions request body as loosely as a server must: whatever the
 * client sent, these return text, never throw.
 */

/** A JSON object of a request or reply body. */
export type OpenAIJson = Record<string, unknown>;

/** The text of a wire message: a string, or the text parts of an array, plus tool-call arguments. */
export function messageText(m: OpenAIJson): string {
  const parts: string[] = [];
  if (typeof m.content === "string") parts.push(m.content);
  else if (Array.isArray(m.content)) for (const p of m.content as OpenAIJson[]) if (p?.type === "text" && typeof p.text === "string") parts.push(p.text);
  if (Array.isArray(m.tool_calls)) for (const c of m.tool_calls as OpenAIJson[]) parts.push(String((c?.function as OpenAIJson | undefined)?.arguments ?? ""));
  return parts.join(" ");
}

/** The text of the last user message ("" when there is none). */
export function lastUserText(messages: OpenAIJson[]): string {
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i]?.role === "user") return messageText(messages[i]!);
  return "";
}

/** The texts of an embeddings `input` (a string, strings, or token arrays), or undefined when malformed. */
export function embeddingInputs(raw: unknown): string[] | undefined {
  if (typeof raw === "string") return [raw];
  if (!Array.isArray(raw)) return undefined;
  return raw.map((x) => (typeof x === "string" ? x : Array.isArray(x) ? x.join(" ") : String(x)));
}
