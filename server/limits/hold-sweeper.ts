import type { Logger } from "../observability/logger.js";
import type { OpenHold } from "../store/state/hold-journal.js";
import type { StateBackend } from "../store/state/state-backend.js";
import { holdMarkerKey, openHoldsKey } from "./budget-reservation.js";
import type { ReplicaLease } from "./replica-lease.js";

/** Dependencies of {@link createHoldSweeper}. */
export interface HoldSweeperDeps {
  state: StateBackend;
  /** This replica's lease: its own holds are never swept, and others' owners are looked up. */
  lease: Pick<ReplicaLease, "id" | "isAlive">;
  /** The tenants (orgs) that have budgets, e.g. from the limits catalog. */
  tenants: () => Iterable<string>;
  logger: Logger;
}

/** Options of {@link createHoldSweeper}. */
export interface HoldSweeperOptions {
  /** Mean time between passes (default 5 s; `budgets.holdSweepIntervalMs`), each jittered by ±20 % so replicas spread out. */
  intervalMs?: number;
  /**
   * What a swept reservation's marker still lives (default 24 h): long enough for an owner that
   * only stalled to settle (its actual is then still booked), short enough not to linger.
   */
  markerTtlMs?: number;
}

/** What one pass did. */
export interface SweepReport {
  /** Tenants looked at. */
  tenants: number;
  /** Holds released (their owners' leases had lapsed). */
  released: number;
  /** Tenants whose pass failed (state backend errors); retried at the next pass. */
  failed: number;
}

/** Gives back the budget holds of replicas that died. */
export interface HoldSweeper {
  /** One pass over every tenant now. */
  sweep(): Promise<SweepReport>;
  /** Runs a pass now and then every `intervalMs` (jittered) on an unref'd timer. */
  start(): void;
  /** Stops the timer and waits for a running pass. */
  stop(): Promise<void>;
}

/**
 * The sweeper of dead replicas' budget holds (issue #7/#11). Every hold is journaled with its
 * owner (`budget-reservation.ts`); a pass reads each tenant's index of open holds (one command;
 * a tenant with none costs just that), looks up the lease of every owner other than this replica
 * (once per owner per pass), and releases the holds of owners whose lease lapsed in one atomic
 * step per tenant, which re-checks each record so a hold settled meanwhile is left alone. Each
 * pass that released something logs a warning with the amounts.
 *
 * Bound: a dead replica's holds are released at most lease TTL + `intervalMs` × 1.2 (+ one pass)
 * after its last lease refresh — 15 s + 6 s by default. Every replica sweeps, so the bound holds
 * while any replica runs.
 */
export function createHoldSweeper(deps: HoldSweeperDeps, opts: HoldSweeperOptions = {}): HoldSweeper {
  const intervalMs = opts.intervalMs ?? 5_000;
  const markerTtlMs = opts.markerTtlMs ?? 86_400_000;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<SweepReport> | undefined;
  let started = false;
  let stopped = false;

  const sweepTenant = async (tenant: string, alive: Map<string, Promise<boolean>>): Promise<number> => {
    const index = openHoldsKey(tenant);
    const open = await deps.state.openHolds(index);
    if (open.length === 0) return 0;
    const dead: OpenHold[] = [];
    for (const hold of open) {
      if (hold.owner === deps.lease.id) continue;
      let live = alive.get(hold.owner);
      if (live === undefined) alive.set(hold.owner, (live = deps.lease.isAlive(hold.owner)));
      if (!(await live)) dead.push(hold);
    }
    if (dead.length === 0) return 0;
    const released = await deps.state.releaseHolds(
      index,
      dead.map((hold) => ({ member: hold.member, owner: hold.owner, marker: holdMarkerKey(tenant, hold.member), keys: [...hold.held.keys()] })),
      markerTtlMs,
    );
    if (released.length > 0) {
      deps.logger.warn(
        {
          tenant,
          holds: released.map((hold) => ({ reservation: hold.member, owner: hold.owner, heldMicros: Math.max(0, ...hold.held.values()) })),
          totalMicros: released.reduce((sum, hold) => sum + Math.max(0, ...hold.held.values()), 0),
        },
        "released budget holds of replicas whose lease lapsed",
      );
    }
    return released.length;
  };

  const pass = async (): Promise<SweepReport> => {
    const alive = new Map<string, Promise<boolean>>();
    const report: SweepReport = { tenants: 0, released: 0, failed: 0 };
    let firstError: unknown;
    for (const tenant of deps.tenants()) {
      report.tenants++;
      try {
        report.released += await sweepTenant(tenant, alive);
      } catch (err) {
        report.failed++;
        firstError ??= err;
      }
    }
    if (report.failed > 0) {
      deps.logger.warn({ failed: report.failed, err: firstError instanceof Error ? firstError.message : String(firstError) }, "budget hold sweep failed for some tenants; retrying at the next pass");
    }
    return report;
  };

  const sweep = (): Promise<SweepReport> => {
    running ??= pass().finally(() => (running = undefined));
    return running;
  };

  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      void sweep().catch(() => undefined).then(schedule);
    }, Math.round(intervalMs * (0.8 + 0.4 * Math.random())));
    timer.unref();
  };

  return {
    sweep,
    start() {
      if (started || stopped) return;
      started = true;
      void sweep().catch(() => undefined).then(schedule);
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
}
