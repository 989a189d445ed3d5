import type { BreakerTarget } from "./breaker.js";
import type { BalanceStrategy } from "./route-types.js";
import type { TargetLoad, TargetStats } from "./target-load.js";

export type { BalanceStrategy } from "./route-types.js";

/** What ordering needs to know of a target. */
export interface Orderable {
  priority: number;
  weight: number;
}

/**
 * The order to try targets in, as indexes into `targets`: ascending priority; within one
 * priority, a weighted random order (each next pick with probability weight / remaining weight),
 * so traffic splits by weight on the first pick and fallbacks stay within the priority first.
 * Zero-weight targets come last in their priority, in list order. `random` returns `[0, 1)`.
 */
export function orderTargets(targets: readonly Orderable[], random: () => number): number[] {
  const byPriority = new Map<number, number[]>();
  targets.forEach((t, i) => {
    const group = byPriority.get(t.priority);
    if (group) group.push(i);
    else byPriority.set(t.priority, [i]);
  });
  const order: number[] = [];
  for (const priority of [...byPriority.keys()].sort((a, b) => a - b)) {
    const group = byPriority.get(priority) ?? [];
    const weighted = group.filter((i) => (targets[i]?.weight ?? 0) > 0);
    const unweighted = group.filter((i) => (targets[i]?.weight ?? 0) <= 0);
    order.push(...weightedShuffle(weighted, (i) => targets[i]?.weight ?? 0, random), ...unweighted);
  }
  return order;
}

function weightedShuffle(items: number[], weightOf: (i: number) => number, random: () => number): number[] {
  const left = [...items];
  const out: number[] = [];
  while (left.length > 0) {
    const total = left.reduce((sum, i) => sum + weightOf(i), 0);
    let pick = random() * total;
    let chosen = left.length - 1;
    for (let k = 0; k < left.length; k++) {
      pick -= weightOf(left[k] as number);
      if (pick < 0) {
        chosen = k;
        break;
      }
    }
    out.push(...left.splice(chosen, 1));
  }
  return out;
}

/** What a strategy needs to know of a target besides {@link Orderable}. */
export type Balanced = Orderable & BreakerTarget;

/**
 * Share of balanced requests ordered weighted random instead (exploration): every target, the
 * slow and the failing ones included, keeps getting some traffic, so a target that got faster or
 * recovered is measured again. One in 20 costs little latency on average.
 */
export const LATENCY_EXPLORE_SHARE = 0.05;

/**
 * {@link orderTargets} for a route with a `strategy`: priority groups and fallbacks as ever, but
 * within a priority the weighted targets ordered by what `load` knows of them, ties in weighted
 * random order (zero-weight ones still last, in list order).
 *
 * - `least_busy`: fewest attempts in flight on this replica first. A plain minimum, not Envoy's
 *   "power of two choices": P2C exists for balancers whose load figures are stale or shared by
 *   many pickers, where everyone rushing to the same minimum overloads it. Here the counts are
 *   this process's own and exact — an attempt is counted before the next request is ordered —
 *   and a group holds at most 32 targets, so the true minimum costs O(n) and causes no herd.
 *   Weight only splits ties (an idle route splits by weight). A target whose last attempt failed
 *   comes after every other: one that fails at once is never busy, and would otherwise be picked
 *   first by every request until its circuit breaker opened.
 * - `latency`: lowest moving-average latency first (`TargetLoad`); a target never measured
 *   counts as fastest so it gets measured; one whose last attempt failed comes after every other
 *   (failures never enter the average, so one failing fast does not look fast).
 *
 * A share of requests ({@link LATENCY_EXPLORE_SHARE}) is ordered weighted random instead — under
 * `latency` always, under `least_busy` while a target is failing — so the slow and the failing
 * get tried again (a success clears `failing`).
 */
export function orderTargetsBy(strategy: BalanceStrategy, targets: readonly Balanced[], random: () => number, load: TargetLoad): number[] {
  const stats = targets.map((t) => load.peek(t));
  // `least_busy` explores only to give a failing target its chance back: otherwise its order is exact.
  const explore = strategy === "latency" || stats.some((s) => s?.failing === true);
  if (explore && random() < LATENCY_EXPLORE_SHARE) return orderTargets(targets, random);
  const rank = strategy === "least_busy" ? inFlightRank : latencyRank;
  const ranks = stats.map(rank);
  const byPriority = new Map<number, number[]>();
  targets.forEach((t, i) => {
    const group = byPriority.get(t.priority);
    if (group) group.push(i);
    else byPriority.set(t.priority, [i]);
  });
  const order: number[] = [];
  for (const priority of [...byPriority.keys()].sort((a, b) => a - b)) {
    const group = byPriority.get(priority) ?? [];
    const weighted = group.filter((i) => (targets[i]?.weight ?? 0) > 0);
    const unweighted = group.filter((i) => (targets[i]?.weight ?? 0) <= 0);
    // A stable sort of a weighted shuffle: equal ranks stay in weighted random order.
    const ranked = weightedShuffle(weighted, (i) => targets[i]?.weight ?? 0, random).sort((a, b) => (ranks[a] ?? 0) - (ranks[b] ?? 0));
    order.push(...ranked, ...unweighted);
  }
  return order;
}

/** Fewest in flight first; failing targets after all others (one that fails at once is never busy). */
function inFlightRank(s: TargetStats | undefined): number {
  if (s === undefined) return 0;
  return s.failing ? Number.MAX_SAFE_INTEGER / 2 + s.inFlight : s.inFlight;
}

/** Failing targets after all others; never-measured ones (NaN) before all others. */
function latencyRank(s: TargetStats | undefined): number {
  if (s === undefined) return -1;
  const ms = Number.isNaN(s.latencyMs) ? -1 : s.latencyMs;
  return s.failing ? Number.MAX_SAFE_INTEGER / 2 + ms : ms;
}
