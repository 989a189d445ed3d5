import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { deadLetterRecord, decodeLedgerLine, decodeLedgerSegment, encodeLedgerLine } from "./ledger-codec.js";
import { ledgerRecord } from "./ledger-testing.js";

const line = (over: Record<string, unknown>) => JSON.stringify({ ...JSON.parse(encodeLedgerLine(ledgerRecord())), ...over });

describe("ledger codec", () => {
  it("decodes what it encodes, field for field, for any record", () => {
    const count = fc.integer({ min: 0, max: 2 ** 31 - 1 });
    fc.assert(
      fc.property(
        fc.record({
          callId: fc.string({ minLength: 1 }),
          attempt: fc.integer({ min: 1, max: 100 }),
          inputTokens: count,
          outputTokens: count,
          reasoningTokens: count,
          costMicros: fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }),
          estimated: fc.boolean(),
          tags: fc.dictionary(fc.string({ minLength: 1 }), fc.string()),
          occurredAt: fc.date({ min: new Date(0), max: new Date("2100-01-01T00:00:00Z"), noInvalidDate: true }),
        }),
        (over) => {
          const r = ledgerRecord(over);
          const text = encodeLedgerLine(r) + encodeLedgerLine(r);
          expect(decodeLedgerSegment(text)).toEqual({ records: [r, r], unreadable: [], torn: "" });
        },
      ),
    );
  });

  it("skips blank lines rather than dead-lettering them, and keeps an unterminated last line apart", () => {
    const r = ledgerRecord();
    const segment = decodeLedgerSegment(`\n${encodeLedgerLine(r)}\n\n{"callId":`);
    expect(segment).toEqual({ records: [r], unreadable: [], torn: '{"callId":' });
  });

  // A line that decodes to something Postgres would store differently, or that cannot even be
  // dead-lettered (an invalid date has no ISO form), is unreadable: dead-lettered as its text.
  it.each([
    ["a fractional token count", { inputTokens: 1.5 }, /inputTokens must be an integer/],
    ["a token count past 2^53", { outputTokens: 2 ** 53 }, /outputTokens must be an integer/],
    ["a token count as a string", { reasoningTokens: "3" }, /reasoningTokens must be an integer/],
    ["an unparseable date", { occurredAt: "yesterday" }, /occurredAt must be a date/],
    ["a missing call id", { callId: undefined }, /callId must be a string/],
  ])("refuses a line with %s", (_what, over, error) => {
    expect(() => decodeLedgerLine(line(over))).toThrow(error);
    const text = line(over);
    expect(decodeLedgerSegment(`${text}\n`)).toEqual({ records: [], unreadable: [{ record: text, error: expect.stringMatching(error) }], torn: "" });
  });

  it("writes a dead letter with every object's keys in code-unit order, however the record was built", () => {
    const built = ledgerRecord({ tags: { b: "2", B: "3", a: "1" }, template: { version: 2, name: "prompts/x" } });
    const reordered = Object.fromEntries(Object.entries(built).reverse()) as typeof built;
    const text = deadLetterRecord(built);
    expect(deadLetterRecord(reordered)).toBe(text);
    const keysInOrder = (o: Record<string, unknown>): void => {
      const keys = Object.keys(o);
      expect(keys).toEqual([...keys].sort());
      for (const v of Object.values(o)) if (v !== null && typeof v === "object") keysInOrder(v as Record<string, unknown>);
    };
    keysInOrder(JSON.parse(text) as Record<string, unknown>);
    expect(text).toContain('"tags":{"B":"3","a":"1","b":"2"}');
  });
});
