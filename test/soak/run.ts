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
import { runSoak } from "./soak.js";

const mode = process.env.SOAK_MODE === "long" ? "long" : "short";
const seconds = Number(process.env.SOAK_SECONDS ?? (mode === "long" ? 600 : 60));
const coolDownSeconds = Number(process.env.SOAK_COOLDOWN_SECONDS ?? 300);
const report = await runSoak({ mode, seconds, coolDownSeconds });
console.log(report.table);
console.log(`wall time ${(report.wallMs / 1000).toFixed(0)} s; logs and history in ${report.runDir}`);
process.exit(report.rows.some((r) => r.status === "fail") ? 1 : 0);
