import { breakerKey, type BreakerTarget } from "./breaker.js";

/**
 * What this replica knows of one target (provider, model and credential, keyed as its circuit
 * breaker is): its attempts in flight and its recent latency. Shared by every route that names
 * the target, so a route that balances by load sees the load every route puts on it.
 */
export interface TargetStats {
  /** Attempts started and not yet ended. */
  readonly inFlight: number;
  /**
   * Moving average (EWMA) of the latency of its successful attempts, in ms: time to the first
   * content chunk of a stream, the whole call of a unary one. NaN until one succeeded.
   */
  readonly latencyMs: number;
  /** Whether its last attempt that ended on the target's account failed (see {@link TargetLoad.end}). */
  readonly failing: boolean;
}

/** How an attempt ended, as far as the target's latency is concerned. */
export type LoadEnding =
  /** It answered: `ms` is its latency (first token of a stream, the whole of a unary call). */
  | "success"
  /** It failed on the target's account (the breaker counts it as a failure). */
  | "failure"
  /** A hedged twin answered first: `ms`, how long it had run, is a lower bound of its latency. */
  | "superseded"
  /** Nothing is learnt of the target's speed (the caller cancelled, the provider refused our content). */
  | "ignore";

/** The entry an attempt holds from its start to its end: no lookup, no allocation per attempt. */
export interface LoadEntry extends TargetStats {
  inFlight: number;
  latencyMs: number;
  failing: boolean;
}

/**
 * In-flight counts and latency per target, per process: what the `least_busy` and `latency`
 * strategies order by (`target-order.ts`). Every attempt of every route is counted, whatever its
 * route's strategy: `begin` when it starts, `end` exactly once when it ends, however it ends.
 */
export interface TargetLoad {
  /** An attempt to `target` starts; the returned entry is passed to {@link end}. */
  begin(target: BreakerTarget): LoadEntry;
  /**
   * The attempt holding `entry` ended. A success folds `ms` into the average and clears
   * `failing`; a failure sets `failing` and leaves the average alone (a fast 429 must not make a
   * target look fast); a superseded hedge loser raises the average to `ms` at most when it ran
   * longer than the average says (and sets it, when there was none); anything else only ends the attempt.
   */
  end(entry: LoadEntry, ending: LoadEnding, ms: number): void;
  /** What is known of `target`, undefined when it was never called. */
  peek(target: BreakerTarget): TargetStats | undefined;
}

/**
 * Weight of a new sample in the average: with 0.25 the last few attempts dominate (a sample's
 * weight halves in under three more), so a target that slowed down is noticed within a handful of
 * calls, and one slow answer does not bury a fast target.
 */
export const LATENCY_EWMA_ALPHA = 0.25;

/** Entries kept at most (as many as configured targets; all forgotten past this, like breaker keys). */
const MAX_ENTRIES = 10_000;

/** Creates an empty, per-process {@link TargetLoad}. */
export function createTargetLoad(): TargetLoad {
  const entries = new Map<string, LoadEntry>();
  return {
    begin(target) {
      const key = breakerKey(target);
      let entry = entries.get(key);
      if (entry === undefined) {
        // An attempt still holding a forgotten entry ends on it, harmlessly.
        if (entries.size >= MAX_ENTRIES) entries.clear();
        entry = { inFlight: 0, latencyMs: Number.NaN, failing: false };
        entries.set(key, entry);
      }
      entry.inFlight++;
      return entry;
    },
    end(entry, ending, ms) {
      entry.inFlight--;
      const sample = Math.max(0, ms);
      switch (ending) {
        case "success":
          entry.latencyMs = Number.isNaN(entry.latencyMs) ? sample : entry.latencyMs + LATENCY_EWMA_ALPHA * (sample - entry.latencyMs);
          entry.failing = false;
          return;
        case "failure":
          entry.failing = true;
          return;
        case "superseded":
          // Unmeasured, the time it ran is what is known (a lower bound): left unmeasured, a target
          // that only ever loses its hedge would rank fastest and be tried first by every request.
          if (Number.isNaN(entry.latencyMs)) entry.latencyMs = sample;
          else if (sample > entry.latencyMs) entry.latencyMs += LATENCY_EWMA_ALPHA * (sample - entry.latencyMs);
          return;
        case "ignore":
          return;
      }
    },
    peek: (target) => entries.get(breakerKey(target)),
  };
}
