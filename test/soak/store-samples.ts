/**
 * Samples the soak's stores while it runs (RELIABILITY P24's test: Redis `DBSIZE` and
 * `pg_total_relation_size` every 10 s): the soak's Redis database's key count and every table's
 * size and row churn. Reaches both directly, not through the replicas' fault proxies, so a cut or
 * a hang the nemesis makes does not stop the sampling (a sample that fails is skipped).
 */
import { Redis } from "ioredis";
import { createDatabase } from "../../server/store/database.js";
import { readTableStats, type TableStats } from "../../server/store/table-stats.js";
import { scanKeys } from "./scan-keys.js";

/** The stores at one moment. */
export interface StoreSample {
  t: number;
  /** Keys in the soak's Redis database (`DBSIZE`). */
  redisKeys: number;
  /**
   * Of those, budget-hold markers (`sb:budget-hold:*`): an open reservation's, or the 24-hour
   * tombstone of a reserve whose reply was lost (`reservation-recovery.ts`) — one per call refused
   * for a hung Redis, which the key count then carries for a day by design.
   */
  holdMarkers: number;
  tables: TableStats[];
}

/** A running sampler. */
export interface StoreSampler {
  readonly samples: StoreSample[];
  /** Takes one last sample and stops; later calls wait for the first. */
  stop(): Promise<void>;
}

/** Starts sampling the soak's database and Redis every `intervalMs`, one sample at a time. */
export async function startStoreSampler(stores: { databaseUrl: string; redisUrl: string }, intervalMs: number): Promise<StoreSampler> {
  const handle = await createDatabase({ databaseUrl: stores.databaseUrl, pool: 1 });
  const redis = new Redis(stores.redisUrl, { maxRetriesPerRequest: 1, commandTimeout: 2000 });
  const samples: StoreSample[] = [];
  const take = async (): Promise<void> => {
    try {
      const [redisKeys, holdMarkers, tables] = await Promise.all([redis.dbsize(), countKeys(redis, "sb:budget-hold:*"), readTableStats(handle.db)]);
      samples.push({ t: Date.now(), redisKeys, holdMarkers, tables });
    } catch {
      // Skipped: the next interval samples again.
    }
  };
  let running: Promise<void> = take();
  const timer = setInterval(() => {
    running = running.then(take);
  }, intervalMs);
  let stopped: Promise<void> | undefined;
  return {
    samples,
    stop() {
      clearInterval(timer);
      stopped ??= running.then(take).finally(async () => {
        redis.disconnect();
        await handle.close();
      });
      return stopped;
    },
  };
}

/** How many keys match `pattern`. */
async function countKeys(redis: Redis, pattern: string): Promise<number> {
  let n = 0;
  for await (const keys of scanKeys(redis, pattern)) n += keys.length;
  return n;
}
