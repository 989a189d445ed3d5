import type { IncrementEntry, ReleaseEntry, ReserveEntry, WindowHitEntry, WindowUnhitEntry } from "./state-backend.js";

/**
 * Argument checks shared by every `StateBackend`, so each implementation rejects the same inputs
 * with the same `RangeError` before touching any state (a bad TTL must never create an immortal
 * key, and Redis Lua would silently round numbers beyond 2^53).
 */
export const stateArguments = {
  /** `ttlMs` must be a positive safe integer: every write carries an expiry (P6). */
  ttl(ttlMs: number): void {
    if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) {
      throw new RangeError(`ttlMs must be a positive integer, got ${ttlMs}`);
    }
  },

  /** A counter delta: any safe integer. */
  delta(delta: number): void {
    if (!Number.isSafeInteger(delta)) throw new RangeError(`delta must be a safe integer, got ${delta}`);
  },

  /** incrementMany entries: safe-integer deltas. */
  increments(entries: readonly IncrementEntry[]): void {
    entries.forEach((entry, index) => {
      if (!Number.isSafeInteger(entry.delta)) throw new RangeError(`entries[${index}].delta must be a safe integer, got ${entry.delta}`);
    });
  },

  /** Reserve entries: non-negative amounts, safe-integer limits, at least one entry. */
  reserve(entries: readonly ReserveEntry[]): void {
    if (entries.length === 0) throw new RangeError("reserve needs at least one entry");
    entries.forEach((entry, index) => {
      nonNegative(`entries[${index}].amount`, entry.amount);
      if (!Number.isSafeInteger(entry.limit)) {
        throw new RangeError(`entries[${index}].limit must be a safe integer, got ${entry.limit}`);
      }
    });
  },

  /** Release entries: non-negative amounts. */
  release(entries: readonly ReleaseEntry[]): void {
    entries.forEach((entry, index) => nonNegative(`entries[${index}].amount`, entry.amount));
  },

  /** hitWindow: non-negative cost and limit, positive window, products within 2^53. */
  window(cost: number, limit: number, windowMs: number, nowMs: number | undefined): void {
    nonNegative("cost", cost);
    nonNegative("limit", limit);
    windowLength(windowMs);
    if (!Number.isSafeInteger((limit + cost) * windowMs)) {
      throw new RangeError("(limit + cost) * windowMs must stay below 2^53");
    }
    if (nowMs !== undefined) nonNegative("nowMs", nowMs);
  },

  /** hitWindows: each entry as for `window`, and no key twice. */
  windows(entries: readonly WindowHitEntry[], windowMs: number, nowMs: number | undefined): void {
    for (const [index, entry] of entries.entries()) {
      try {
        stateArguments.window(entry.cost, entry.limit, windowMs, nowMs);
      } catch (err) {
        throw new RangeError(`entries[${index}]: ${(err as Error).message}`);
      }
    }
    distinctKeys(entries);
    if (entries.length === 0) stateArguments.window(0, 0, windowMs, nowMs);
  },

  /** unhitWindows: non-negative costs, no key twice, a positive window length and a non-negative window. */
  unhit(entries: readonly WindowUnhitEntry[], windowMs: number, window: number): void {
    entries.forEach((entry, index) => nonNegative(`entries[${index}].cost`, entry.cost));
    distinctKeys(entries);
    windowLength(windowMs);
    nonNegative("window", window);
  },
};

/** A window's length: a positive safe integer of milliseconds. */
function windowLength(windowMs: number): void {
  if (!Number.isSafeInteger(windowMs) || windowMs <= 0) throw new RangeError(`windowMs must be a positive integer, got ${windowMs}`);
}

/** Window entries name each key once (one script decides each key once). */
function distinctKeys(entries: readonly { key: string }[]): void {
  const keys = new Set<string>();
  entries.forEach((entry, index) => {
    if (keys.has(entry.key)) throw new RangeError(`entries[${index}].key "${entry.key}" repeats an earlier entry's`);
    keys.add(entry.key);
  });
}

function nonNegative(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
  }
}
