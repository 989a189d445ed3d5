/**
 * Runs the fault soak outside vitest and prints its property table:
 *
 *   SOAK_MODE=long SOAK_SECONDS=600 node --import tsx test/soak/run.ts
 *
 * `SOAK_MODE` is `short` (default, what CI runs through `soak.test.ts`) or `long`; a long run
 * waits `SOAK_COOLDOWN_SECONDS` (default 300) after the load before reading replica 0's memory
 * again; a run of an hour or more is held to RELIABILITY's 2 %/h memory slope. Needs
 * DATABASE_URL and REDIS_URL (`eval "$(bash scripts/services.sh up)"`). Exits 1 when a property fails.
 */
import { getHeapStatistics } from "node:v8";
import { runSoak } from "./soak.js";

const mode = process.env.SOAK_MODE === "long" ? "long" : "short";
const seconds = Number(process.env.SOAK_SECONDS ?? (mode === "long" ? 600 : 60));
const coolDownSeconds = Number(process.env.SOAK_COOLDOWN_SECONDS ?? 300);

// The checkers need every operation, attempt, truth entry and ledger row at the end: ≈ 1.2 KB
// live per operation at the long mode's ≈ 66 operations a second (session 10), ≈ 0.3 GB an hour —
// twice that with the collector's headroom. Past a few hours that outgrows V8's default heap.
const needMb = Math.ceil((seconds * 66 * 1.2 * 2) / 1024);
const limitMb = Math.floor(getHeapStatistics().heap_size_limit / 2 ** 20);
if (mode === "long" && needMb > limitMb) {
  console.error(`soak: a ${seconds} s run may need ≈ ${needMb} MB of heap, this process has ${limitMb}: run it with NODE_OPTIONS=--max-old-space-size=${Math.ceil(needMb / 1024) * 1024}`);
}
const report = await runSoak({ mode, seconds, coolDownSeconds });
console.log(report.table);
console.log(`wall time ${(report.wallMs / 1000).toFixed(0)} s; logs and history in ${report.runDir}`);
process.exit(report.rows.some((r) => r.status === "fail") ? 1 : 0);
