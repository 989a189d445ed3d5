import { sql } from "kysely";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../test/support/postgres.js";
import type { CallObservation } from "../observability/observe-stage.js";
import { createRequestLogSink, type RequestLogMode } from "../observability/request-log-sink.js";
import { createRequestLogWriter } from "../observability/request-log-writer.js";
import { createLogger } from "../observability/logger.js";
import { createDatabase, type DatabaseHandle } from "./database.js";
import { migrateToLatest } from "./migrate.js";
import { createRequestLogStore, partitionName, REQUEST_LOG_LOCK_KEY, type RequestLogRow, type RequestLogStore } from "./request-log-store.js";

let testDb: TestDatabase;
let handle: DatabaseHandle;
let store: RequestLogStore;

beforeAll(async () => {
  testDb = await createTestDatabase();
  handle = await createDatabase({ databaseUrl: testDb.url, pool: 2 });
  await migrateToLatest(handle.db);
  store = createRequestLogStore(handle.db);
});
afterAll(async () => {
  await handle?.close();
  await testDb?.drop();
});

const day = (d: number, h = 12) => new Date(Date.UTC(2026, 0, d, h));

/** A request-log row as the sink makes it from an observed call, in `mode`. */
function rowsFor(mode: RequestLogMode, at: Date, n: number, text = "Summarize the attached meeting notes for the weekly report.", edit?: (o: CallObservation) => CallObservation): RequestLogRow[] {
  const rows: RequestLogRow[] = [];
  const sink = createRequestLogSink({ append: (r) => rows.push(r) }, { mode });
  for (let i = 0; i < n; i++) {
    const o: CallObservation = {
      operation: "chat",
      stream: false,
      meta: {
        verb: "summarize",
        route: "default",
        requestId: `0f6c1c8e-3b1a-4c55-9f0e-${String(i).padStart(12, "0")}`,
        signal: AbortSignal.timeout(1000),
        deadline: 0,
        tags: {},
        cache: { mode: "default" },
        caller: { orgId: "org_01jqk4x9y8z7w6v5u4t3s2r1q0", teamId: "team_01jqk4x9y8z7w6v5u4t3s2r1q0", keyId: "key_01jqk4x9y8z7w6v5u4t3s2r1q0" },
      },
      request: { model: "", messages: [{ role: "user", content: [{ type: "text", text }] }] },
      startedAt: at.getTime(),
      durationMs: 412.5,
      provider: "openai",
      model: "gpt-4o-mini",
      attempts: [],
      costMicrosUsd: 1234n,
      cacheStatus: "miss",
      usage: { inputTokens: 812, outputTokens: 164, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0, estimated: false },
      response: { text: "The team agreed to ship on Friday and to review the budget next week.", toolCalls: [], truncated: false },
    };
    sink.ended(edit === undefined ? o : edit(o));
  }
  return rows;
}

describe("request log store", () => {
  it("creates daily partitions ahead and drops those past the retention, rows and all", async () => {
    const first = await store.maintain({ now: day(10), aheadDays: 2, retentionDays: 3 });
    expect(first).toEqual({ ran: true, created: [partitionName(day(10)), partitionName(day(11)), partitionName(day(12))], dropped: [] });
    await store.insert([...rowsFor("metadata", day(10), 3), ...rowsFor("metadata", day(11), 2), ...rowsFor("metadata", day(12), 1)]);
    // A day later: one more partition ahead, nothing old enough to drop yet.
    expect(await store.maintain({ now: day(13), aheadDays: 2, retentionDays: 3 })).toEqual({
      ran: true,
      created: [partitionName(day(13)), partitionName(day(14)), partitionName(day(15))],
      dropped: [],
    });
    // On Jan 14 with 3 days kept (Jan 11, 12, 13 and today): Jan 10 goes, rows and all.
    const later = await store.maintain({ now: day(14, 1), aheadDays: 2, retentionDays: 3 });
    expect(later.dropped).toEqual([partitionName(day(10))]);
    expect((await store.partitions()).map((p) => p.name)).toEqual([11, 12, 13, 14, 15, 16].map((d) => partitionName(day(d))));
    const left = await handle.db.selectFrom("request_log").select((eb) => eb.fn.countAll<bigint>().as("n")).executeTakeFirstOrThrow();
    expect(Number(left.n)).toBe(3);
    // Retention shortened to 1 day: everything before Jan 13 goes.
    expect((await store.maintain({ now: day(14, 1), aheadDays: 2, retentionDays: 1 })).dropped).toEqual([partitionName(day(11)), partitionName(day(12))]);
  });

  it("stores every column of every row as written, nulls, bodies and 2^62 micro-dollars included", async () => {
    await store.maintain({ now: day(15), aheadDays: 0, retentionDays: 3650 });
    const base = rowsFor("full", day(15, 3), 1, 'quote " back \\ slash {brace} é 😀 NULL')[0]!;
    const rows: RequestLogRow[] = [
      base,
      { ...base, request_id: "second", org_id: null, team_id: null, key_id: null, stream: true, ttft_ms: 17, cost_micros_usd: 2n ** 62n, cache_status: null, attempts: 3, mode: "metadata", request: null, response: null },
    ];
    await store.insert(rows);
    const { rows: stored } = await sql<Record<string, unknown>>`select * from request_log where created_at = ${day(15, 3)} order by request_id`.execute(handle.db);
    expect(stored).toHaveLength(2);
    const expected = (r: RequestLogRow) => ({
      ...r,
      created_at: day(15, 3),
      cost_micros_usd: String(r.cost_micros_usd),
      request: r.request === null || r.request === undefined ? null : JSON.parse(r.request as string),
      response: r.response === null || r.response === undefined ? null : JSON.parse(r.response as string),
    });
    const byId = new Map(stored.map((r) => [r.request_id as string, r]));
    for (const row of rows) expect({ ...byId.get(row.request_id)!, cost_micros_usd: String(byId.get(row.request_id)!.cost_micros_usd) }).toEqual(expected(row));
  });

  it("refuses a row whose day has no partition (the writer makes it and retries)", async () => {
    await expect(store.insert(rowsFor("metadata", day(28), 1))).rejects.toMatchObject({ code: "23514" });
  });

  it("keeps a body, route or model holding a NUL with U+FFFD in its place (Postgres stores no NUL)", async () => {
    await store.maintain({ now: day(16), aheadDays: 0, retentionDays: 3650 });
    const [row] = rowsFor("full", day(16, 3), 1, "before\0after", (o) => ({ ...o, meta: { ...o.meta, route: "ro\0ute" }, model: "mo\0del" }));
    await store.insert([row!]);
    const stored = await handle.db.selectFrom("request_log").selectAll().where("created_at", "=", day(16, 3)).executeTakeFirstOrThrow();
    expect(stored).toMatchObject({ route: "ro\uFFFDute", model: "mo\uFFFDdel" });
    expect(JSON.stringify(stored.request)).toContain("before\uFFFDafter");
  });

  it("the writer drops and counts a row Postgres refuses, and writes the rows around it", async () => {
    const writer = createRequestLogWriter({ store, logger: createLogger({ level: "silent" }), now: () => day(17) }, { retentionDays: 3650 });
    const rows = rowsFor("metadata", day(17, 5), 3);
    rows[1] = { ...rows[1]!, route: "bad\0route" }; // past the sink, as a row nothing scrubbed would arrive
    for (const row of rows) writer.append(row);
    await writer.flush();
    expect(writer.rejected()).toBe(1);
    expect(writer.pending()).toBe(0);
    const stored = await handle.db.selectFrom("request_log").select("request_id").where("created_at", "=", day(17, 5)).orderBy("request_id").execute();
    expect(stored.map((r) => r.request_id)).toEqual([rows[0]!.request_id, rows[2]!.request_id]);
    // Later rows are not held back by it.
    writer.append(rowsFor("metadata", day(17, 6), 1)[0]!);
    await writer.flush();
    expect(await handle.db.selectFrom("request_log").select("request_id").where("created_at", "=", day(17, 6)).execute()).toHaveLength(1);
    await writer.close();
  });

  it("lets one replica at a time maintain: another holding the lock makes this run a no-op", async () => {
    const other = new pg.Client({ connectionString: testDb.url });
    await other.connect();
    try {
      await other.query(`select pg_advisory_lock(${REQUEST_LOG_LOCK_KEY})`);
      expect(await store.maintain({ now: day(20), aheadDays: 1, retentionDays: 3 })).toEqual({ ran: false, created: [], dropped: [] });
      await other.query(`select pg_advisory_unlock(${REQUEST_LOG_LOCK_KEY})`);
      expect((await store.maintain({ now: day(20), aheadDays: 1, retentionDays: 3 })).ran).toBe(true);
    } finally {
      await other.end();
    }
  });

  it("measures the bytes stored per request (README: request log)", async () => {
    const now = new Date();
    await store.maintain({ now, aheadDays: 0, retentionDays: 3650 });
    const perRequest: Record<string, number> = {};
    const n = 2000;
    for (const mode of ["metadata", "redacted"] as const) {
      await sql`truncate request_log`.execute(handle.db);
      const before = await store.totalBytes();
      const rows = rowsFor(mode, now, n, "Summarize the attached meeting notes for the weekly report. ".repeat(8));
      for (let i = 0; i < rows.length; i += 500) await store.insert(rows.slice(i, i + 500));
      await sql`vacuum analyze request_log`.execute(handle.db);
      perRequest[mode] = Math.round((await store.totalBytes()) - before) / n;
    }
    console.log(`request log bytes per request: ${JSON.stringify(perRequest)}`);
    // RELIABILITY P24: at most 2 KiB per request without bodies.
    expect(perRequest.metadata).toBeLessThanOrEqual(2048);
    expect(perRequest.redacted).toBeGreaterThan(perRequest.metadata!);
  });
});
