import type { Kysely } from "kysely";
import type { Logger } from "../observability/logger.js";
import { createLimitStore, type LimitStore } from "../store/limit-store.js";
import type { Database } from "../store/schema.js";
import { createUsageStore, type UsageStore } from "../store/usage-store.js";
import { adoptOrphanedLedgers, type AdoptionReport } from "./ledger-adoption.js";
import { createLedgerWriter, type LedgerWriter, type LedgerWriterOptions } from "./ledger-writer.js";
import { createLimitsCatalog, type LimitsCatalog } from "./limits-catalog.js";

/** Options of {@link createMoneyLayer}. */
export interface MoneyLayerOptions {
  db: Kysely<Database>;
  logger: Logger;
  /** The ledger's local write buffer: one folder per replica, on a local disk. */
  ledgerDir: string;
  ledger?: LedgerWriterOptions;
  /** How often budget and rate-limit definitions are re-checked (default 1 s). */
  limitsPollMs?: number;
  /**
   * The folder shared by every replica's buffer folder (`ledger.sharedDir`; `ledgerDir` inside
   * it): orphaned buffers of replicas that are gone are adopted at start and every
   * `adoptIntervalMs` (see `ledger-adoption.ts`). Unset: no adoption.
   */
  adoptFrom?: string;
  /** How often orphaned buffers are looked for (default 30 s). */
  adoptIntervalMs?: number;
}

/** The long-lived parts of budgets, rate limits and the ledger, built once per process. */
export interface MoneyLayer {
  usage: UsageStore;
  limits: LimitStore;
  /** The durable write buffer in front of `usage_records`. */
  ledger: LedgerWriter;
  /** This replica's snapshot of the budgets and rate limits in force. */
  catalog: LimitsCatalog;
  /** One pass of adopting orphaned buffers now (a no-op without `adoptFrom`); rejects when Postgres fails. */
  adoptOrphans(): Promise<AdoptionReport>;
  /** Stops polling, flushes the ledger (what cannot be flushed stays in `ledgerDir`). */
  close(): Promise<void>;
}

/**
 * Builds the ledger writer (replaying whatever an earlier run left in `ledgerDir`), starts
 * adopting the orphaned buffers of dead replicas under `adoptFrom` (in the background), and the
 * limits catalog (loaded once before returning, so the first call already sees every budget).
 */
export async function createMoneyLayer(opts: MoneyLayerOptions): Promise<MoneyLayer> {
  const usage = createUsageStore(opts.db);
  const limits = createLimitStore(opts.db);
  const ledger = createLedgerWriter({ store: usage, dir: opts.ledgerDir, logger: opts.logger }, opts.ledger);
  await ledger.start();
  const catalog = createLimitsCatalog({
    store: limits,
    ...(opts.limitsPollMs === undefined ? {} : { pollMs: opts.limitsPollMs }),
    onError: (err) => opts.logger.warn({ err }, "budget and rate-limit refresh failed; serving the last definitions"),
  });
  try {
    await catalog.refresh();
  } catch (err) {
    catalog.close();
    await ledger.close();
    throw err;
  }
  let adopting: Promise<AdoptionReport> | undefined;
  const adoptOrphans = (): Promise<AdoptionReport> => {
    const root = opts.adoptFrom;
    if (root === undefined) return Promise.resolve({ adopted: 0, records: 0 });
    adopting ??= adoptOrphanedLedgers({ store: usage, root, self: opts.ledgerDir, logger: opts.logger, ...(opts.ledger?.batchRows ? { batchRows: opts.ledger.batchRows } : {}) }).finally(() => (adopting = undefined));
    return adopting;
  };
  const adoptQuietly = () =>
    adoptOrphans().catch((err: unknown) => opts.logger.warn({ err: err instanceof Error ? err.message : String(err) }, "adopting orphaned ledger buffers failed; retrying later"));
  let timer: NodeJS.Timeout | undefined;
  if (opts.adoptFrom !== undefined) {
    void adoptQuietly();
    timer = setInterval(() => void adoptQuietly(), opts.adoptIntervalMs ?? 30_000);
    timer.unref();
  }
  return {
    usage,
    limits,
    ledger,
    catalog,
    adoptOrphans,
    async close() {
      clearInterval(timer);
      catalog.close();
      await adopting?.catch(() => undefined);
      await ledger.close();
    },
  };
}
