import type { Logger } from "../observability/logger.js";
import type { StateBackend } from "../store/state/state-backend.js";
import { holdMarkerKey, type BudgetReservations, type Reservation, type ReserveRequest } from "./budget-reservation.js";

/** Dependencies of {@link createReservationRecovery}. */
export interface ReservationRecoveryDeps {
  state: StateBackend;
  reservations: Pick<BudgetReservations, "reserve" | "settle">;
  logger: Logger;
}

/** Options of {@link createReservationRecovery}. */
export interface ReservationRecoveryOptions {
  /** Waits before each background attempt; the last one repeats until `maxAttempts` (default 50 ms … 30 s). */
  delaysMs?: readonly number[];
  /** Attempts per job before giving up (logged at error; the counters then over-hold until they expire). Default 30. */
  maxAttempts?: number;
  /** Jobs kept at once; beyond, new ones are logged and dropped (default 10 000). */
  maxJobs?: number;
  /** TTL of a tombstone: how long a reservation whose reply was lost may still land (default 24 h). */
  tombstoneTtlMs?: number;
}

/** Cleans up, in the background, budget holds whose outcome the request path could not learn. */
export interface ReservationRecovery {
  /**
   * A `reserve` made with `request.id` rejected (timeout, disconnect), so the call was refused:
   * makes sure that hold is given back if it landed, and can never land later if it did not.
   */
  abandon(request: ReserveRequest & { id: string }): void;
  /** A `settle` kept failing: finishes it (once, atomically) when the backend answers. */
  settleLater(reservation: Reservation, actualMicros: bigint): void;
  /** Jobs not finished yet. */
  pending(): number;
  /** Resolves once every job started so far has ended (tests, shutdown). */
  drain(): Promise<void>;
}

/** A marker value no real reservation reaches (it counts its holds from 1). */
const TOMBSTONE = 2 ** 42;
const DEFAULT_DELAYS = [50, 200, 1000, 5000, 15_000, 30_000];

/**
 * Recovery of budget holds lost to a Redis timeout (P7: fail closed, and do not leak). A reserve
 * that timed out may still land: its reply was lost, or its command sat in a hung connection and
 * ran when Redis woke up. Left alone, such a hold stays on the counters until they expire (a
 * `total` budget's: 400 days), shrinking the budget for nothing.
 *
 * `abandon` retries, with backoff, one atomic step on the reservation's marker: if the marker is
 * absent, it is set to a tombstone, so the original, should it arrive later, is refused by its
 * own marker check and holds nothing; if the marker shows the hold landed, the reservation is
 * re-attached by its id (recognized, never held twice) and released. A repeat of the step after
 * a lost reply finds its own tombstone and stops. `settleLater` retries a settle (idempotent:
 * one atomic step that applies once). Holds whose owner died before either finished are given
 * back by the sweeper of dead replicas' holds (`hold-sweeper.ts`).
 */
export function createReservationRecovery(deps: ReservationRecoveryDeps, opts: ReservationRecoveryOptions = {}): ReservationRecovery {
  const delays = opts.delaysMs ?? DEFAULT_DELAYS;
  const maxAttempts = opts.maxAttempts ?? 30;
  const maxJobs = opts.maxJobs ?? 10_000;
  const tombstoneTtlMs = opts.tombstoneTtlMs ?? 86_400_000;
  const jobs = new Set<Promise<void>>();

  const run = (what: string, id: string, step: () => Promise<void>): void => {
    if (jobs.size >= maxJobs) {
      deps.logger.error({ reservation: id, jobs: jobs.size }, `budget ${what} recovery backlog full; the hold stays until its counters expire`);
      return;
    }
    const job = (async () => {
      let last: unknown;
      for (let attempt = 0; attempt < maxAttempts; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, delays[Math.min(attempt, delays.length - 1)]).unref());
        try {
          await step();
          return;
        } catch (err) {
          last = err;
        }
      }
      deps.logger.error({ reservation: id, err: last instanceof Error ? last.message : String(last) }, `budget ${what} recovery gave up; the hold stays until its counters expire`);
    })();
    jobs.add(job);
    void job.finally(() => jobs.delete(job));
  };

  return {
    abandon(request) {
      const marker = holdMarkerKey(request.tenant, request.id);
      run("reservation", request.id, async () => {
        const tomb = await deps.state.reserve([{ key: marker, amount: TOMBSTONE, limit: TOMBSTONE }], tombstoneTtlMs);
        if (tomb.ok || tomb.current >= TOMBSTONE) return; // never landed, and now never will
        // It landed: re-attach it by its id (recognized by the marker, not held again) and give it back.
        const outcome = await deps.reservations.reserve(request);
        if (!outcome.ok) throw new Error(`reservation ${request.id}: landed but not recognized`);
        await deps.reservations.settle(outcome.reservation, 0n);
        deps.logger.info({ reservation: request.id }, "released a budget hold whose reservation reply was lost");
      });
    },
    settleLater(reservation, actualMicros) {
      run("settle", reservation.id, async () => {
        await deps.reservations.settle(reservation, actualMicros);
      });
    },
    pending: () => jobs.size,
    async drain() {
      while (jobs.size > 0) await Promise.allSettled([...jobs]);
    },
  };
}
