import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../test/support/postgres.js";
import { ledgerRecord } from "../limits/ledger-testing.js";
import { createDatabase, type DatabaseHandle } from "./database.js";
import { migrateToLatest } from "./migrate.js";
import { createUsageStore, type UsageRecordRow } from "./usage-store.js";

/*
 * `insertBatch` sends the whole batch as one JSON parameter read back by `jsonb_to_recordset`:
 * every field must come back exactly as written, on Postgres and on PGlite, with the values
 * encodings make hard — quotes, backslashes, braces, commas, NULL-looking text, non-ASCII, empty
 * strings, nulls, 2^62 micro-dollars, 2^40 tokens, tags (a JSON object, not a string).
 */

const tricky: UsageRecordRow[] = [
  ledgerRecord({ callId: 'c "quoted" \\ back,slash {brace}', attempt: 0, tags: { 'k"1': 'v\\1,{x}', "NULL": "null", emoji: "é 😀" }, template: { name: "prompts/a,b", version: 7 } }),
  ledgerRecord({ callId: "NULL", attempt: 1, requestId: "", costMicros: 2n ** 62n, estimated: true, tags: {}, outcome: "error", cacheStatus: "hit_exact" }),
  ledgerRecord({ callId: "plain", attempt: 3, inputTokens: 2 ** 40, reasoningTokens: 5, occurredAt: new Date("2026-01-02T03:04:05.678Z") }),
];

for (const kind of ["postgres", "pglite"] as const) {
  describe(`usage store batch insert (${kind})`, () => {
    let testDb: TestDatabase | undefined;
    let handle: DatabaseHandle;
    beforeAll(async () => {
      if (kind === "postgres") testDb = await createTestDatabase();
      handle = await createDatabase(kind === "postgres" ? { databaseUrl: testDb!.url, pool: 2 } : {});
      await migrateToLatest(handle.db);
    });
    afterAll(async () => {
      await handle.close();
      await testDb?.drop();
    });

    it("round-trips every field of every row, and a replay inserts nothing", async () => {
      const usage = createUsageStore(handle.db);
      expect(await usage.insertBatch(tricky)).toBe(3);
      expect(await usage.insertBatch([...tricky, ledgerRecord({ callId: "new", attempt: 0 })])).toBe(1);
      const { items } = await usage.list({ orgId: "org_a", start: new Date(0), end: new Date("2100-01-01"), limit: 100 });
      const byKey = new Map(items.map((r) => [`${r.callId}/${r.attempt}`, r]));
      for (const row of tricky) expect(byKey.get(`${row.callId}/${row.attempt}`)).toEqual(row);
      expect(items).toHaveLength(4);
    });
  });
}
