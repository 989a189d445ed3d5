import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseSse, SseEventTooLargeError, type SseEvent } from "./sse-parser.js";

async function parse(pieces: Uint8Array[], opts?: { maxEventChars?: number }): Promise<SseEvent[]> {
  const out: SseEvent[] = [];
  for await (const e of parseSse((async function* () {
    yield* pieces;
  })(), opts)) out.push(e);
  return out;
}

const bytes = (s: string) => new TextEncoder().encode(s);

describe("parseSse", () => {
  it("parses fields, multi-line data, comments and the default event name", async () => {
    const text = ": keep-alive\nevent: delta\ndata: one\ndata:two\nid: 7\n\ndata: {\"x\":1}\n\n";
    expect(await parse([bytes(text)])).toEqual([
      { event: "delta", data: "one\ntwo", id: "7" },
      { event: "message", data: '{"x":1}', id: "7" },
    ]);
  });

  it("accepts CRLF, CR and LF line endings, and a CR/LF pair split across chunks", async () => {
    expect(await parse([bytes("data: a\r\n\r\ndata: b\r\rdata: c\n\n")])).toEqual([
      { event: "message", data: "a" },
      { event: "message", data: "b" },
      { event: "message", data: "c" },
    ]);
    expect(await parse([bytes("data: a\r"), bytes("\n\r"), bytes("\ndata: b\n\n")])).toEqual([
      { event: "message", data: "a" },
      { event: "message", data: "b" },
    ]);
  });

  it("keeps a CR/LF pair one line ending when an empty chunk comes between them", async () => {
    expect(await parse([bytes("data: a\r"), new Uint8Array(0), bytes("\ndata: b\r\n\r\n")])).toEqual([{ event: "message", data: "a\nb" }]);
  });

  it("drops an event without data and a last event without its blank line", async () => {
    expect(await parse([bytes("event: ping\n\ndata: whole\n\ndata: cut")])).toEqual([{ event: "message", data: "whole" }]);
  });

  it("bounds the size of one event", async () => {
    await expect(parse([bytes(`data: ${"x".repeat(100)}\n`)], { maxEventChars: 50 })).rejects.toBeInstanceOf(SseEventTooLargeError);
    await expect(parse([bytes("x".repeat(100))], { maxEventChars: 50 })).rejects.toBeInstanceOf(SseEventTooLargeError);
  });

  it("gives the same events for any split of the bytes (UTF-8 included)", async () => {
    const event = fc.record({
      event: fc.constantFrom("message", "delta", "message_stop"),
      data: fc.string({ unit: "grapheme", maxLength: 30 }).map((s) => s.replace(/[\r\n]/g, " ")),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(event, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 20 }), fc.constantFrom("\n", "\r\n", "\r"), async (events, cuts, eol) => {
        const text = events.map((e) => `event: ${e.event}${eol}data: ${e.data}${eol}${eol}`).join("");
        const whole = bytes(text);
        const points = [...new Set(cuts.map((c) => c % (whole.length + 1)))].sort((a, b) => a - b);
        const pieces: Uint8Array[] = [];
        let last = 0;
        for (const p of points) {
          pieces.push(whole.subarray(last, p));
          last = p;
        }
        pieces.push(whole.subarray(last));
        const expected = events.map((e) => ({ event: e.event, data: e.data.startsWith(" ") ? e.data.slice(1) : e.data }));
        // A data value's own leading space is the one the spec strips; compare the parsed data.
        const parsed = await parse(pieces);
        expect(parsed.map((e) => e.event)).toEqual(expected.map((e) => e.event));
        expect(parsed).toEqual(await parse([whole]));
      }),
      { numRuns: 200 },
    );
  });
});
