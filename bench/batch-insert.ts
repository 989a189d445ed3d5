/**
 * CPU per row of the gateway's batch inserts (the usage ledger's rows and the request log's), as
 * the replica runs them: on PGlite the whole process's CPU (Postgres runs in this process), on a
 * Postgres server this process's and the server backend's (from /proc, same host).
 *
 *   node --import tsx bench/batch-insert.ts [--table usage|log] [--bodies] [--rows 1400]
 *     [--batches 20] [--rounds 3] [--optimized]
 *
 * Postgres is measured when DATABASE_URL is set; PGlite always, in a fresh data folder
 * (`--optimized`: with V8's optimising tier, as `database.embeddedOptimizedWasm`). `--bodies`
 * gives each request-log row a 1 KB request and response (`redacted` mode) instead of none.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { sql } from "kysely";
import { ledgerRecord } from "../server/limits/ledger-testing.js";
import { createDatabase, type DatabaseHandle } from "../server/store/database.js";
import { migrateToLatest } from "../server/store/migrate.js";
import { createRequestLogStore, type RequestLogRow } from "../server/store/request-log-store.js";
import { createUsageStore } from "../server/store/usage-store.js";
import { cpuMicros } from "./proc-stats.js";

const { values: args } = parseArgs({
  options: {
    table: { type: "string", default: "usage" },
    bodies: { type: "boolean", default: false },
    rows: { type: "string", default: "1400" },
    batches: { type: "string", default: "20" },
    rounds: { type: "string", default: "3" },
    optimized: { type: "boolean", default: false },
  },
});
const rowsPerBatch = Number(args.rows);
const batches = Number(args.batches);
const selfCpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

const body = args.bodies ? JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: `Summarise "this" text: ${"lorem ipsum dolor sit amet ".repeat(40)}` }] }) : null;
let seq = 0;

function usageRows() {
  seq++;
  return Array.from({ length: rowsPerBatch }, (_, i) => ledgerRecord({ callId: `call-${seq}-${i}`, attempt: 0, requestId: `req-${seq}-${i}`, tags: { team: "alpha", env: "prod" }, occurredAt: new Date() }));
}

function logRows(): RequestLogRow[] {
  seq++;
  return Array.from({ length: rowsPerBatch }, (_, i) => ({
    created_at: new Date(), request_id: `req-${seq}-${i}`, org_id: "org_a", team_id: "team_a", key_id: "key_a", verb: "chat", route: "default", provider: "openai", model: "gpt-4o-mini",
    code: "ok", stream: false, duration_ms: 12, ttft_ms: null, input_tokens: 10, output_tokens: 20, cost_micros_usd: 123n, cache_status: "miss", attempts: 1,
    mode: body === null ? "metadata" : "redacted", request: body, response: body,
  }));
}

async function measure(handle: DatabaseHandle, label: string) {
  await migrateToLatest(handle.db);
  const log = createRequestLogStore(handle.db);
  await log.maintain({ now: new Date(), aheadDays: 1, retentionDays: 7 });
  const usage = createUsageStore(handle.db);
  const target: { make: () => object[]; insert: (rows: object[]) => Promise<unknown> } =
    args.table === "log" ? { make: logRows, insert: (rows) => log.insert(rows as RequestLogRow[]) } : { make: usageRows, insert: (rows) => usage.insertBatch(rows as ReturnType<typeof usageRows>) };
  const backend = handle.kind === "postgres" ? Number((await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(handle.db)).rows[0]!.pid) : undefined;
  for (let round = 0; round < Number(args.rounds); round++) {
    await target.insert(target.make()); // warm
    const work = Array.from({ length: batches }, target.make);
    const self0 = selfCpuUs();
    const backend0 = backend === undefined ? 0 : cpuMicros(backend);
    for (const rows of work) await target.insert(rows);
    const n = batches * rowsPerBatch;
    const self = (selfCpuUs() - self0) / n;
    const server = backend === undefined ? undefined : (cpuMicros(backend) - backend0) / n;
    console.log(`${label} ${args.table} round ${round}: this process ${self.toFixed(1)} µs/row${server === undefined ? "" : `, server backend ${server.toFixed(1)}, together ${(self + server).toFixed(1)}`}`);
    await sql.raw(args.table === "log" ? "truncate request_log" : "truncate usage_records").execute(handle.db);
  }
  await handle.close();
}

if (process.env.DATABASE_URL) await measure(await createDatabase({ databaseUrl: process.env.DATABASE_URL, pool: 1 }), "postgres");
const dir = mkdtempSync(join(tmpdir(), "batch-insert-"));
try {
  await measure(await createDatabase({ dataDir: dir, optimizedWasm: args.optimized }), `pglite${args.optimized ? " (optimised tier)" : ""}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
