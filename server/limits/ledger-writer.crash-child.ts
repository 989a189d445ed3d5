/**
 * Child process of the ledger writer's crash tests: appends records in small concurrent groups,
 * prints `acked N` once every append has resolved, and waits to be killed (SIGKILL: no close, no
 * flush). Its Postgres is down, or — given two more files — "up": each committed batch's call ids
 * are appended to the first when the commit completes (3 ms after it starts), each acknowledged
 * group's to the second; the groups are spread over time and the writer flushes every 5 ms, so
 * segments are sealed, committed and removed while it appends; and it goes on appending after
 * `acked N`, so the kill lands mid-write or mid-commit.
 */
import { appendFileSync } from "node:fs";
import { createLogger } from "../observability/logger.js";
import type { UsageRecordRow } from "../store/usage-store.js";
import { ledgerRecord } from "./ledger-testing.js";
import { createLedgerWriter } from "./ledger-writer.js";

const [dir, count, committedFile, ackedFile] = process.argv.slice(2);
const down = async (): Promise<never> => {
  throw new Error("connect ECONNREFUSED");
};
// A commit takes a round trip's time, as Postgres's does: a kill often lands inside one.
const commit = async (rows: readonly UsageRecordRow[]): Promise<number> => {
  await new Promise((resolve) => setTimeout(resolve, 3));
  appendFileSync(committedFile!, rows.map((r) => `${r.callId}\n`).join(""));
  return rows.length;
};
const writer = createLedgerWriter(
  { store: committedFile === undefined ? { insertBatch: down, deadLetter: down } : { insertBatch: commit, deadLetter: async () => undefined }, dir: dir!, logger: createLogger({ level: "silent" }) },
  { flushIntervalMs: 5, maxRetryDelayMs: 5 },
);
await writer.start();
const n = Number(count);
// Lines of varied lengths, so a line cut by the kill is cut anywhere in it.
const append = (i: number) => writer.append([ledgerRecord({ callId: `crash-${i}`, costMicros: BigInt(i), requestId: `req-${"x".repeat(i % 7)}` })]);
if (committedFile === undefined) {
  await Promise.all(Array.from({ length: n }, (_, i) => append(i)));
} else {
  for (let i = 0; ; i += 5) {
    const group = [0, 1, 2, 3, 4].map((j) => i + j);
    await Promise.all(group.map(append));
    appendFileSync(ackedFile!, group.map((k) => `crash-${k}\n`).join(""));
    if (i < n && i + 5 >= n) process.stdout.write(`acked ${n}\n`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}
process.stdout.write(`acked ${n}\n`);
setInterval(() => undefined, 1000);
