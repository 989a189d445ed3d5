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

  // OWASP "CSV Injection": a spreadsheet runs a cell that starts with = + - @ (or TAB / CR, which
  // some strip first) as a formula. Tags, key names and model ids are tenants' text, so such a
  // cell is prefixed with a single quote: shown as text, never run. Numbers stay numbers.
  it("neutralises text that a spreadsheet would run as a formula, quoting as RFC 4180 requires", () => {
    expect(csvField("=HYPERLINK(\"http://evil\",\"x\")")).toBe(`"'=HYPERLINK(""http://evil"",""x"")"`);
    expect(csvField("+cmd|' /C calc'!A0")).toBe("'+cmd|' /C calc'!A0");
    expect(csvField("-2+3")).toBe("'-2+3");
    expect(csvField("@SUM(A1)")).toBe("'@SUM(A1)");
    expect(csvField("\t=1")).toBe("'\t=1");
    expect(csvField("\r=1")).toBe(`"'\r=1"`);
    expect(csvRecord(["team", "=1+1", "12"])).toBe("team,'=1+1,12\r\n");
  });

  it("leaves numbers, negative ones included, as numbers", () => {
    for (const n of ["0", "12345", "-1", "-42", "-0.5", "3.25", "1152921504606846983"]) expect(csvField(n)).toBe(n);
    expect(csvField("2026-11-01T00:00:00.000Z")).toBe("2026-11-01T00:00:00.000Z");
  });

  it("never writes a cell a spreadsheet would run, whatever the text (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: fc.constantFrom("=", "+", "-", "@", "\t", "\r", "\n", ",", '"', "1", ".", "a") }), { minLength: 1, maxLength: 5 }), (row) => {
        const [cells] = parseCsv(csvRecord(row));
        cells!.forEach((cell, i) => {
          if (/^[=+\-@\t\r]/.test(cell)) expect(cell, JSON.stringify(row[i])).toMatch(/^-?\d+(\.\d+)?$/);
          // Nothing is lost: a prefixed cell is the quote and the text as given.
          expect([row[i], `'${row[i]}`]).toContain(cell);
        });
      }),
    );
  });

  it("round-trips any fields through a CSV parser, chunked at any size (property)", () => {
    // Text a spreadsheet would not run (the cases above cover the rest).
    const safe = fc.string().filter((s) => !/^[=+\-@\t\r]/.test(s));
    fc.assert(
      fc.property(fc.array(fc.array(safe, { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 10 }), fc.integer({ min: 1, max: 64 }), (rows, size) => {
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
