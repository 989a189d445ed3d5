import type { HoldJournal, HoldRelease, HoldResult, HoldSettlement, JournaledHold, OpenHold, SettledHold } from "./hold-journal.js";

/**
 * One entry of an all-or-nothing {@link StateBackend.reserve}: add `amount` to the counter at
 * `key` only if the result stays within `limit`.
 */
export interface ReserveEntry {
  key: string;
  /** Non-negative safe integer (e.g. micro-USD or tokens). */
  amount: number;
  /** Inclusive upper bound for the counter after adding `amount`. */
  limit: number;
}

/** One entry of {@link StateBackend.incrementMany}. */
export interface IncrementEntry {
  key: string;
  /** Safe integer to add (may be negative). */
  delta: number;
}

/** One entry of {@link StateBackend.release}. */
export interface ReleaseEntry {
  key: string;
  /** Non-negative safe integer to subtract. */
  amount: number;
}

/**
 * Outcome of {@link StateBackend.reserve}. On refusal, `index` is the position in the request of
 * the first entry that would exceed its limit and `current` is the total that entry would have
 * been added to (the stored value plus earlier entries of the same request for the same key).
 */
export type ReserveResult = { ok: true } | { ok: false; index: number; current: number };

/** Outcome of {@link StateBackend.hitWindow}. */
export interface WindowHit {
  /** Whether the hit was admitted (and counted). A refused hit changes nothing. */
  allowed: boolean;
  /**
   * The sliding-window estimate, rounded up: including this hit when allowed, without it when
   * refused.
   */
  count: number;
  /**
   * 0 when allowed. When refused: milliseconds until this same hit would be admitted if no other
   * hit arrived meanwhile (at most two windows), or -1 when `cost > limit` (it never will be).
   */
  retryAfterMs: number;
}

/** One entry of {@link StateBackend.hitWindows}: a `hitWindow` of `cost` at `key` under `limit`. */
export interface WindowHitEntry {
  key: string;
  cost: number;
  limit: number;
}

/** Outcome of {@link StateBackend.hitWindows}. */
export interface WindowHits {
  /** Whether every entry had room, and so was counted. When false, nothing was counted. */
  admitted: boolean;
  /**
   * Each entry's own decision, in entry order, as `hitWindow` would have made it alone at that
   * moment: an entry with room reads `allowed` (its count including the hit) even when another
   * entry's refusal kept it from being counted.
   */
  hits: WindowHit[];
  /**
   * The fixed window the entries were decided (and, when admitted, counted) in: `floor(now /
   * windowMs)` on the clock that decided. What {@link StateBackend.unhitWindows} takes back from.
   * Absent for an empty list (nothing was decided).
   */
  window?: number;
}

/** One entry of {@link StateBackend.unhitWindows}: `cost` to take back at `key`. */
export interface WindowUnhitEntry {
  key: string;
  cost: number;
}

/**
 * The fast-path state shared by gateway replicas: counters for rate limits, budget reservations
 * and concurrency, and byte values for the response cache.
 *
 * This is never the source of truth for money — the Postgres ledger is (RELIABILITY P7) — so a
 * backend may lose data on restart or failover, and callers must treat every method as able to
 * reject (timeout, disconnection) and choose their own degraded mode: bypass for the cache,
 * the Postgres check or fail-closed for budgets.
 *
 * Rules every implementation keeps:
 * - **No immortal keys** (P6): every write leaves the key with a TTL; `ttlMs` must be a positive
 *   integer and a method that writes without one throws `RangeError`.
 * - **Atomicity**: each method is one atomic step with respect to all replicas (one Lua script in
 *   Redis), so a check and its increment can never be split by another caller.
 * - Counters and byte values share one key space; a counter read through `get` is its decimal
 *   text, and counting on a key that holds non-integer bytes rejects.
 * - Amounts, limits and counters are safe integers (Redis Lua computes in doubles).
 * - Keys touched by one multi-key call (`reserve`, `release`, the hold methods) must live on one Redis Cluster slot:
 *   give them a common hash tag, e.g. `budget:{org_1}:team_2`.
 */
export interface StateBackend {
  /** The bytes stored at `key`, or `undefined` when absent or expired. Returns a copy. */
  get(key: string): Promise<Uint8Array | undefined>;

  /** Stores a copy of `value` at `key`, replacing anything there, expiring after `ttlMs`. */
  set(key: string, value: Uint8Array, ttlMs: number): Promise<void>;

  /** Removes `key`; resolves `true` when something was removed. */
  delete(key: string): Promise<boolean>;

  /**
   * Removes every key starting with `prefix` (matched literally; glob characters have no special
   * meaning) and resolves how many were removed. Incremental (Redis: SCAN + UNLINK in batches,
   * never KEYS), so not atomic: keys written while it runs may survive.
   */
  deleteByPrefix(prefix: string): Promise<number>;

  /**
   * Atomically adds `delta` (may be negative) to the counter at `key` (absent counts as 0) and
   * resolves the new value.
   *
   * TTL policy: the key gets `ttlMs` when it is created **or has no TTL** (which repairs a key an
   * older writer left immortal); an existing TTL is kept. So the counter lives `ttlMs` from its
   * first write — the shape fixed-period counters want (put the period in the key).
   */
  increment(key: string, delta: number, ttlMs: number): Promise<number>;

  /**
   * `increment` of several counters in one atomic step (one round trip, one Lua script in Redis):
   * adds each entry's delta and resolves the new values in entry order (a key listed twice gets
   * both deltas; its second value includes the first). Same TTL policy as `increment`. All or
   * nothing: if any key holds something other than an integer counter, it rejects and writes
   * nothing. An empty list resolves `[]` without reaching the backend. For batched counters
   * (cache statistics) whose keys need not share a Redis Cluster slot: keep the batches small
   * (≲ 1 000 keys), since a script blocks the server while it runs.
   */
  incrementMany(entries: readonly IncrementEntry[], ttlMs: number): Promise<number[]>;

  /**
   * All-or-nothing admission across several counters (e.g. key, team and org budgets in one
   * step): if, for every entry in order, current + amount ≤ limit, adds every amount atomically;
   * otherwise changes nothing and reports the first entry that would exceed.
   *
   * TTL policy: every counter it writes gets `ttlMs` from now (refreshed on each write), so a
   * total with recent reservations never expires under in-flight requests; choose `ttlMs` longer
   * than the longest request.
   */
  reserve(entries: readonly ReserveEntry[], ttlMs: number): Promise<ReserveResult>;

  /**
   * Subtracts each amount from its counter, clamping at zero (a counter that reaches zero is
   * removed; an absent counter stays absent). Remaining counters get `ttlMs` from now, like
   * `reserve`. Not a check: it never fails for lack of funds.
   */
  release(entries: readonly ReleaseEntry[], ttlMs: number): Promise<void>;

  /**
   * `reserve([hold.marker, ...hold.counters])` (refusal indices count the marker as 0) that, when
   * admitted, also adds each counter's amount to the hold's record in `journal.index`, in the same
   * atomic step — so whatever a hold added can later be taken back exactly, by `settleHold` or by
   * `releaseHolds`, however many steps (extensions) it had and whoever is asked to. The record
   * keeps the owner of its first step. The index gets `ttlMs` unless it already lives longer.
   * First of all, each key of `hold.requires` must exist: when some do not, it changes nothing
   * and resolves `{ ok: false, missing }` (their positions in `requires`).
   */
  reserveHold(hold: JournaledHold, journal: HoldJournal, ttlMs: number): Promise<HoldResult>;

  /**
   * Settles a journaled hold in one atomic step, once: if `marker` exists, adds each `add`
   * amount, sets each `replace` counter to `current + amount − journaled` (removed at ≤ 0; an
   * absent counter is created only for a positive result), drops the hold's record and deletes
   * the marker, and resolves `{ settled: true, counters }` with every add and replace counter's
   * value after the step. Without the marker it changes nothing and resolves `{ settled: false }`
   * (already settled — a retry after a lost reply — or expired). Written counters get `ttlMs`.
   */
  settleHold(settlement: HoldSettlement, ttlMs: number): Promise<SettledHold>;

  /** The open holds recorded in `index` (one read; empty when there are none). */
  openHolds(index: string): Promise<OpenHold[]>;

  /**
   * Releases, in one atomic step, each listed hold whose record still exists and still names
   * `owner`: subtracts every journaled amount from its counter (removed at ≤ 0, TTL kept), drops
   * the record, and cuts the marker's TTL to `markerTtlMs` when longer. Resolves the records
   * released, as they were; a hold settled meanwhile, or naming an unlisted key, is skipped.
   */
  releaseHolds(index: string, holds: readonly HoldRelease[], markerTtlMs: number): Promise<OpenHold[]>;

  /**
   * Sliding-window-counter rate limiter: admits a hit of `cost` at `key` when
   * `previousWindow × (unelapsed fraction of the current window) + currentWindow + cost ≤ limit`,
   * counting it in the current window; a refused hit changes nothing. Check and count are one
   * atomic step, so replicas share one limit (P5). The key expires two windows after its last
   * admitted hit.
   *
   * Bound: within each window-aligned interval `[k·windowMs, (k+1)·windowMs)` at most `limit` is
   * admitted. In an arbitrary interval of length `windowMs` at most
   * `limit + previousWindow × elapsedFraction` (< 2·limit) is, and only when the previous
   * window's traffic was bunched at its end; for evenly spread traffic the estimate is exact.
   *
   * `nowMs` fixes the clock (tests, replay). Without it Redis uses its own clock (`TIME`), so
   * replicas with skewed clocks still agree on window boundaries. `limit + cost` times `windowMs`
   * must stay a safe integer.
   */
  hitWindow(key: string, cost: number, limit: number, windowMs: number, nowMs?: number): Promise<WindowHit>;

  /**
   * `hitWindow` on several windows (e.g. a caller's key, team and org limits, requests and tokens)
   * as one all-or-nothing step: every entry is decided on the same clock reading; when all have
   * room all are counted, otherwise none is. One round trip, one Lua script in Redis (which may decide
   * the same turn's other checks of the tenant beside it, each on its own, `redis-window-batch.ts`), so the
   * keys must share a Redis Cluster slot (a common hash tag) and may not repeat. An empty list resolves
   * `{ admitted: true, hits: [] }` without reaching the backend.
   */
  hitWindows(entries: readonly WindowHitEntry[], windowMs: number, nowMs?: number): Promise<WindowHits>;

  /**
   * Takes back hits an admitted `hitWindows` counted: `cost` comes off each key's count of fixed
   * window `window` (that call's `WindowHits.window`), never below zero. A window no longer kept
   * (older than the previous one) counts for nothing any more and is left alone, so a hit taken
   * back is exactly as if it had never been counted, whenever it is taken back. The keys follow
   * `hitWindows`'s rules (one hash tag, no repeats); one round trip, no TTL change.
   */
  unhitWindows(entries: readonly WindowUnhitEntry[], windowMs: number, window: number): Promise<void>;

  /**
   * Resolves when the backend answers. For Redis this also waits (up to the connect timeout)
   * for the first connection, so call it once at start-up and from readiness checks.
   */
  ping(): Promise<void>;

  /** Releases connections and timers. Later calls reject. Safe to call twice. */
  close(): Promise<void>;
}
