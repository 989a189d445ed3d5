import type { ConfigIssue } from "./config-error.js";

/** The timing knobs of budget-hold recovery (`budgets.hold*`), as the config holds them. */
export interface HoldLeaseTimings {
  /** How long a replica's lease outlives its last refresh (`replica-lease.ts` `ttlMs`). */
  holdLeaseTtlMs: number;
  /** How often the lease is refreshed (`replica-lease.ts` `refreshMs`). */
  holdLeaseRefreshMs: number;
  /** Mean time between hold-sweeper passes (`hold-sweeper.ts` `intervalMs`). */
  holdSweepIntervalMs: number;
}

/** The code defaults, unchanged: 15 s lease, refreshed every 4 s, swept every ~5 s. */
export const HOLD_LEASE_DEFAULTS: HoldLeaseTimings = { holdLeaseTtlMs: 15_000, holdLeaseRefreshMs: 4_000, holdSweepIntervalMs: 5_000 };

/**
 * The rule across the hold-lease knobs: a refresh must come in under half the TTL, so one late or
 * failed refresh (a slow Redis, a busy event loop) does not let a live replica's lease lapse and
 * its holds be given back while its calls still run. Skipped when either knob is already invalid.
 */
export function holdLeaseIssues(budgets: HoldLeaseTimings, found: readonly ConfigIssue[]): ConfigIssue[] {
  const paths = ["budgets.holdLeaseTtlMs", "budgets.holdLeaseRefreshMs"];
  if (found.some((i) => paths.includes(i.path))) return [];
  const { holdLeaseTtlMs: ttl, holdLeaseRefreshMs: refresh } = budgets;
  if (refresh * 2 < ttl) return [];
  return [
    {
      path: "budgets.holdLeaseRefreshMs",
      message:
        `must be under half of budgets.holdLeaseTtlMs (${ttl}), got ${refresh}: a lease refreshed that rarely lapses after one late refresh; ` +
        `lower it (SWITCHBOARD_HOLD_LEASE_REFRESH_MS) below ${Math.ceil(ttl / 2)} or raise the TTL (SWITCHBOARD_HOLD_LEASE_TTL_MS)`,
    },
  ];
}
