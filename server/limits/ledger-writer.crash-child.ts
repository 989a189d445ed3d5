/**
 * Child process of the ledger writer's crash test: appends records in small concurrent groups to
 * a writer whose Postgres is down, prints `acked N` once every append has resolved, and waits to
 * be killed (SIGKILL: no close, no flush).
 */
import { createLogger } from "../observability/logger.js";
import { ledgerRecord } from "./ledger-testing.js";
import { createLedgerWriter } from "./ledger-writer.js";

const [dir, count] = process.argv.slice(2);
const down = async (): Promise<never> => {
  throw new Error("connect ECONNREFUSED");
};
const writer = createLedgerWriter(
  { store: { insertBatch: down, deadLetter: down }, dir: dir!, logger: createLogger({ level: "silent" }) },
  { flushIntervalMs: 5, maxRetryDelayMs: 5 },
);
await writer.start();
const n = Number(count);
await Promise.all(Array.from({ length: n }, (_, i) => writer.append([ledgerRecord({ callId: `crash-${i}`, costMicros: BigInt(i) })])));
process.stdout.write(`acked ${n}\n`);
setInterval(() => undefined, 1000);
