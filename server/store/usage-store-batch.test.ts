import fc from "fast-check";
import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { useMigratedDatabase } from "../../test/support/migrated-database.js";
import { ledgerRecord } from "../limits/ledger-testing.js";
import { arrayLiteral } from "./array-batch.js";
import { isRowRejection } from "./row-rejection.js";
import { createUsageStore, type UsageRecordRow } from "./usage-store.js";

/*
 * `insertBatch` sends the whole batch as one array literal per column, zipped back by `unnest`:
 * every field must come back exactly as written, on Postgres and on PGlite, with the values
 * encodings make hard — quotes, backslashes, braces, commas, NULL-looking text, non-ASCII, empty
 * strings, nulls, 2^62 micro-dollars, 2^40 tokens, tags (a JSON object, not a string) — and
 * arbitrary text through the array literals, which the gateway writes itself.
 */

const tricky: UsageRecordRow[] = [
  ledgerRecord({ callId: 'c "quoted" \\ back,slash {brace}', attempt: 0, tags: { 'k"1': 'v\\1,{x}', "NULL": "null", emoji: "é 😀" }, template: { name: "prompts/a,b", version: 7 } }),
  ledgerRecord({ callId: "NULL", attempt: 1, requestId: "", costMicros: 2n ** 62n, estimated: true, tags: {}, outcome: "error", cacheStatus: "hit_exact" }),
  ledgerRecord({ callId: "plain", attempt: 3, inputTokens: 2 ** 40, reasoningTokens: 5, occurredAt: new Date("2026-01-02T03:04:05.678Z") }),
  ledgerRecord({ callId: "  spaced \t\n", attempt: 2, requestId: "null", model: "{}", route: ",", tags: { " ": "", "a\u2028b": "\\\"" } }),
];

/** Text Postgres can hold: any Unicode except NUL (which `text` refuses outright). */
const pgText = fc.string({ unit: "binary", maxLength: 40 }).map((s) => s.replace(/\0/g, ""));

for (const kind of ["postgres", "pglite"] as const) {
  describe(`usage store batch insert (${kind})`, () => {
    const database = useMigratedDatabase({ engine: kind });

    it("round-trips every field of every row, and a replay inserts nothing", async () => {
      const usage = createUsageStore(database().db);
      expect(await usage.insertBatch(tricky)).toBe(tricky.length);
      expect(await usage.insertBatch([...tricky, ledgerRecord({ callId: "new", attempt: 0 })])).toBe(1);
      const { items } = await usage.list({ orgId: "org_a", start: new Date(0), end: new Date("2100-01-01"), limit: 100 });
      const byKey = new Map(items.map((r) => [`${r.callId}/${r.attempt}`, r]));
      for (const row of tricky) expect(byKey.get(`${row.callId}/${row.attempt}`)).toEqual(row);
      expect(items).toHaveLength(tricky.length + 1);
    });

    it("reads back any text, number, boolean, date and JSON exactly as the array literal wrote it", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.record({ s: fc.option(pgText), n: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), b: fc.boolean(), t: fc.date({ min: new Date("1970-01-01"), max: new Date("2200-01-01"), noInvalidDate: true }), j: fc.dictionary(pgText, pgText, { maxKeys: 3 }) }), { minLength: 1, maxLength: 8 }),
          async (rows) => {
            const { rows: back } = await sql<{ s: string | null; n: bigint; b: boolean; t: Date; j: Record<string, string> }>`
              select * from unnest(${arrayLiteral(rows, "s")}::text[], ${arrayLiteral(rows, "n")}::bigint[], ${arrayLiteral(rows, "b")}::boolean[],
                ${arrayLiteral(rows, "t")}::timestamptz[], ${arrayLiteral(rows, "j")}::jsonb[]) as r(s, n, b, t, j)`.execute(database().db);
            expect(back.map((r) => ({ ...r, t: new Date(r.t) }))).toEqual(rows.map((r) => ({ ...r, s: r.s ?? null })));
          },
        ),
        { numRuns: 150 },
      );
    });

    it("refuses a row Postgres cannot store as a row rejection, not as an exception of ours", async () => {
      const usage = createUsageStore(database().db);
      // A NUL or an unpaired surrogate in a tag too (jsonb refuses both): why both surfaces refuse them in a call's tags (storable-text.ts).
      const bad = [
        ledgerRecord({ callId: "nul\0byte" }),
        ledgerRecord({ callId: "nul-tag", tags: { k: "a\0b" } }),
        ledgerRecord({ callId: "surrogate-tag", tags: { k: "a\uDC00b" } }),
        ledgerRecord({ callId: "bad-date", occurredAt: new Date(Number.NaN) }),
      ];
      for (const row of bad) {
        const err = await usage.insertBatch([row]).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(isRowRejection(err), String(err)).toBe(true);
      }
    });
  });
}
