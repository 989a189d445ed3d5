/**
 * Quiescence and collection: waits until every replica's ledger buffer is empty and no budget
 * holds money, then reads what the checkers compare — the ledger rows, the Redis keys and their
 * TTLs, the budgets' status, the request log's size.
 */
import { Redis } from "ioredis";
import { createDatabase } from "../../server/store/database.js";
import { createRequestLogStore } from "../../server/store/request-log-store.js";
import { createUsageStore, type UsageRecordRow } from "../../server/store/usage-store.js";
import { gauge } from "./replica.js";
import { scanKeys } from "./scan-keys.js";
import type { Cluster } from "./soak-cluster.js";

/** What a budget's status said at the end. */
export interface BudgetFigures {
  limit: bigint;
  spent: bigint;
  reserved: bigint;
}

/** Everything read from the stores after quiescence. */
export interface Collected {
  ledger: UsageRecordRow[];
  deadLetters: bigint;
  /** PTTL of every gateway key (`sb:` prefix) in the soak's Redis database. */
  redisTtls: Map<string, number>;
  budgets: { app: BudgetFigures; capped: BudgetFigures };
  /** Bytes of the request log's tables and indexes. */
  requestLogBytes: number;
  /** How long the ledger buffers took to drain after the load stopped. */
  drainMs: number;
  /** How long the open reservations took to reach 0 (undefined: they never did within the wait). */
  reservationsZeroMs?: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Waits for quiescence (bounded) and reads the stores. */
export async function collect(cluster: Cluster, waitMs: number): Promise<Collected> {
  const t0 = Date.now();
  const deadline = t0 + waitMs;
  for (;;) {
    // A replica drained by SIGTERM flushed its buffer on the way out.
    const depths = await Promise.all(cluster.replicas.filter((r) => r.up).map((r) => gauge(r.url, "switchboard_usage_buffer_depth")));
    if (depths.every((d) => d === 0) || Date.now() > deadline) break;
    await sleep(200);
  }
  const drainMs = Date.now() - t0;
  const status = async (name: string): Promise<BudgetFigures> => {
    const s = await cluster.admin.budgets.getBudgetStatus({ name });
    return { limit: s.budget?.limitMicrosUsd ?? 0n, spent: s.spentMicrosUsd, reserved: s.reservedMicrosUsd };
  };
  let budgets = { app: await status(cluster.budgets.app), capped: await status(cluster.budgets.capped) };
  let reservationsZeroMs: number | undefined;
  const t1 = Date.now();
  for (;;) {
    if (budgets.app.reserved === 0n && budgets.capped.reserved === 0n) {
      reservationsZeroMs = Date.now() - t1;
      break;
    }
    if (Date.now() > Math.max(deadline, t1 + 5000)) break;
    await sleep(500);
    budgets = { app: await status(cluster.budgets.app), capped: await status(cluster.budgets.capped) };
  }

  const handle = await createDatabase({ databaseUrl: cluster.database.url, pool: 2 });
  try {
    const usage = createUsageStore(handle.db);
    const ledger: UsageRecordRow[] = [];
    let after: string | undefined;
    do {
      const page = await usage.list({ start: new Date(0), end: new Date(Date.now() + 3_600_000), limit: 1000, ...(after === undefined ? {} : { after }) });
      ledger.push(...page.items);
      after = page.after;
    } while (after !== undefined);
    const deadLetters = await usage.deadLetterCount();
    const requestLogBytes = await createRequestLogStore(handle.db).totalBytes();

    const redis = new Redis(cluster.redisUrl, { maxRetriesPerRequest: 1 });
    const redisTtls = new Map<string, number>();
    try {
      for await (const keys of scanKeys(redis, "sb:*")) {
        const ttls = await Promise.all(keys.map((k) => redis.pttl(k)));
        keys.forEach((k, i) => redisTtls.set(k, ttls[i]!));
      }
    } finally {
      redis.disconnect();
    }
    return { ledger, deadLetters, redisTtls, budgets, requestLogBytes, drainMs, ...(reservationsZeroMs === undefined ? {} : { reservationsZeroMs }) };
  } finally {
    await handle.close();
  }
}
