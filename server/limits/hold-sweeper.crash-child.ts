/**
 * Child process of the hold sweeper's crash test: a replica with a short lease that holds
 * `amount` µ$ on a total budget, prints `held <replica id>`, and waits to be killed (SIGKILL: the
 * hold is never settled, the lease never deleted).
 */
import { createLogger } from "../observability/logger.js";
import { createRedisState } from "../store/state/redis-state.js";
import { createBudgetReservations } from "./budget-reservation.js";
import { createReplicaLease } from "./replica-lease.js";

const [url, keyPrefix, tenant, amount] = process.argv.slice(2);
const state = createRedisState({ url: url!, keyPrefix: keyPrefix!, commandTimeoutMs: 2000 });
const lease = createReplicaLease({ state, logger: createLogger({ level: "silent" }) }, { ttlMs: 1000, refreshMs: 200 });
await lease.start();
const reservations = createBudgetReservations({ state, clock: { now: () => Date.now() }, owner: lease.id });
const outcome = await reservations.reserve({
  tenant: tenant!,
  budgets: [{ id: "orgs/acme/budgets/total", level: "org", limitMicros: 1_000_000n, period: "total", tz: "UTC" }],
  amountMicros: BigInt(amount!),
});
if (!outcome.ok) throw new Error("refused");
process.stdout.write(`held ${lease.id}\n`);
setInterval(() => undefined, 1000);
