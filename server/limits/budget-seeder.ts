import type { Clock } from "../clock.js";
import type { StateBackend } from "../store/state/state-backend.js";
import { counterKey, seedMarkerKey, type BudgetRef, type CounterSeeder, type ReservationLine } from "./budget-reservation.js";
import { createPeriodCalendar, type Period, type PeriodCalendar } from "./periods.js";

/** Dependencies of {@link createBudgetSeeder}. */
export interface BudgetSeederDeps {
  state: StateBackend;
  /** Settled spend of `budget` in `period` according to the ledger (the authority). */
  ledgerSpent(tenant: string, budget: BudgetRef, period: Period): Promise<bigint>;
  clock: Clock;
  calendar?: PeriodCalendar;
}

/** Options of {@link createBudgetSeeder}; the TTLs must equal the reservations' (same defaults). */
export interface BudgetSeederOptions {
  /** How often this replica refreshes the TTL of a seed marker it finds (default 5 s). */
  touchMs?: number;
  /** As `BudgetReservationsOptions.slackMs` (default 1 h). */
  slackMs?: number;
  /** As `BudgetReservationsOptions.totalTtlMs` (default 400 days). */
  totalTtlMs?: number;
}

/**
 * Makes sure a budget's fast-path counters start from the ledger, not from zero. As a
 * {@link CounterSeeder} (`ReserveRequest.seeder`) the reserve's own atomic step checks the seed
 * markers, so a call costs no extra read; `ensure` checks them itself.
 */
export interface BudgetSeeder extends CounterSeeder {
  /**
   * For each budget, in its current period: if its counters were never seeded (a budget created
   * mid-period, a new period) or Redis lost them (restart without persistence, failover, FLUSHALL),
   * adds the ledger's settled spend to them, once, atomically across replicas. Rejects when the
   * state backend fails, or when seeding is needed and the ledger cannot be read (fail closed).
   */
  ensure(tenant: string, budgets: readonly BudgetRef[]): Promise<void>;
}

const NO_LIMIT = Number.MAX_SAFE_INTEGER;

/**
 * A seeder over the state backend (RELIABILITY P7: counters are a cache of the ledger and are
 * re-seeded from it after Redis loses its data, never silently reset to 0).
 *
 * Per budget and period a marker `budget-seed:{tenant}:<id>:<period>` (`<id>#<epoch>`, as the
 * counters, `counterScopeOf`) says "seeded"; it is set in
 * the same atomic step that adds the ledger's spend to the admission and spent counters, so two
 * replicas never both seed. Every reservation requires the markers of its budgets in its own atomic
 * step (`ReserveRequest.seeder`; `ensure` reads them instead, one Redis read each), so counters
 * lost with Redis are re-seeded before the next call is admitted. The
 * marker has the counters' TTL and is refreshed at most every `touchMs` while the budget is in
 * use, so it lives as long as they do: had it expired while the counters lived, the spend would
 * be counted twice.
 *
 * Bounds after Redis loses its data: ledger rows reach Postgres within the ledger's flush
 * interval, so spend settled just before the loss may be missing from the seed (an under-count of
 * at most that interval's spend); and calls admitted between the loss and the first seed settle
 * into the fresh counters and may also be in the seed (an over-count — the safe direction — of the
 * calls that raced the seed). In normal operation the seed of a new
 * period is the ledger's (usually zero) spend, and a budget created mid-period starts from the
 * spend the ledger already holds.
 */
export function createBudgetSeeder(deps: BudgetSeederDeps, opts: BudgetSeederOptions = {}): BudgetSeeder {
  const touchMs = opts.touchMs ?? 5_000;
  const slackMs = opts.slackMs ?? 3_600_000;
  const totalTtlMs = opts.totalTtlMs ?? 400 * 86_400_000;
  const calendar = deps.calendar ?? createPeriodCalendar();
  /** When this replica last refreshed each seed marker; bounded by the budgets in use. */
  const touched = new Map<string, number>();

  const ttlOf = (period: Period, now: number): number =>
    Math.max(1, Math.ceil(period.end === undefined ? totalTtlMs : period.end.getTime() - now + slackMs));

  const remember = (marker: string, now: number): void => {
    if (touched.size > 10_000) touched.clear();
    touched.set(marker, now);
  };

  /** Refreshes the marker's TTL unless this replica did within `touchMs` (absent, it stays absent). */
  const touchOne = async (marker: string, period: Period, now: number): Promise<void> => {
    const last = touched.get(marker);
    if (last !== undefined && now - last < touchMs) return;
    await deps.state.release([{ key: marker, amount: 0 }], ttlOf(period, now));
    remember(marker, now);
  };

  /** Seeding in progress on this replica, by marker: concurrent callers share one ledger read. */
  const seeding = new Map<string, Promise<void>>();

  const seedOne = (tenant: string, budget: BudgetRef, period: Period, now: number): Promise<void> => {
    const marker = seedMarkerKey(tenant, budget, period.key);
    let running = seeding.get(marker);
    if (running === undefined) {
      running = (async () => {
        const counter = counterKey(tenant, budget, period.key);
        const spent = await deps.ledgerSpent(tenant, budget, period);
        if (spent > BigInt(NO_LIMIT)) throw new RangeError(`ledger spend of ${budget.id} exceeds 2^53 µ$`);
        const amount = Number(spent);
        // Refused on the marker: another replica seeded first; nothing was written.
        await deps.state.reserve(
          [
            { key: marker, amount: 1, limit: 1 },
            { key: counter, amount, limit: NO_LIMIT },
            { key: `${counter}:spent`, amount, limit: NO_LIMIT },
          ],
          ttlOf(period, now),
        );
        remember(marker, now);
      })().finally(() => seeding.delete(marker));
      seeding.set(marker, running);
    }
    return running;
  };

  const ensureOne = async (tenant: string, budget: BudgetRef, now: number): Promise<void> => {
    const period = calendar.periodOf(budget.period, budget.tz, new Date(now));
    const marker = seedMarkerKey(tenant, budget, period.key);
    if ((await deps.state.get(marker)) !== undefined) await touchOne(marker, period, now);
    else await seedOne(tenant, budget, period, now);
  };

  return {
    async ensure(tenant, budgets) {
      const now = deps.clock.now();
      await Promise.all(budgets.map((budget) => ensureOne(tenant, budget, now)));
    },
    async touch(tenant, lines: readonly ReservationLine[]) {
      const now = deps.clock.now();
      await Promise.all(lines.map((line) => touchOne(seedMarkerKey(tenant, line.budget, line.period.key), line.period, now)));
    },
    async seed(tenant, lines: readonly ReservationLine[]) {
      const now = deps.clock.now();
      await Promise.all(lines.map((line) => seedOne(tenant, line.budget, line.period, now)));
    },
  };
}
