import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseCsv } from "../../test/support/money.js";
import { createChunker, csvField, csvRecord } from "./usage-csv.js";

describe("usage CSV", () => {
  it("quotes only what RFC 4180 requires, doubling inner quotes", () => {
    expect(csvField("plain")).toBe("plain");
    expect(csvField("12345")).toBe("12345");
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField("a,b")).toBe('"a,b"');
    expect(csvField("two\r\nlines")).toBe('"two\r\nlines"');
    expect(csvRecord(["a", "b,c"])).toBe('a,"b,c"\r\n');
  });

  it("round-trips any fields through a CSV parser, chunked at any size (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.string(), { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 10 }), fc.integer({ min: 1, max: 64 }), (rows, size) => {
        const chunker = createChunker(size);
        const chunks: Uint8Array[] = [];
        for (const row of rows) {
          const out = chunker.push(csvRecord(row));
          if (out) chunks.push(out);
        }
        const last = chunker.end();
        if (last) chunks.push(last);
        const text = Buffer.concat(chunks).toString("utf8");
        expect(parseCsv(text)).toEqual(rows);
      }),
    );
  });
});
