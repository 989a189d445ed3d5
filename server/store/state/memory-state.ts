import { holdArguments, type HoldResult, type OpenHold, type SettledHold } from "./hold-journal.js";
import { evaluateSlidingWindow } from "./sliding-window.js";
import { stateArguments } from "./state-arguments.js";
import type { ReleaseEntry, ReserveEntry, ReserveResult, StateBackend, WindowHit, WindowHitEntry, WindowHits } from "./state-backend.js";

/** Options for {@link createMemoryState}. */
export interface MemoryStateOptions {
  /** Clock in epoch milliseconds (default `Date.now`); inject one to test expiry without sleeping. */
  now?: () => number;
  /** How often the background sweep runs (default 1000 ms). */
  sweepIntervalMs?: number;
  /** Most entries one sweep examines (default 1000), so a sweep never stalls the event loop. */
  sweepBatch?: number;
  /**
   * Most byte values (cache entries from `set`) kept at once (default 100 000); beyond it the
   * oldest-written value is evicted. Counters are never evicted: dropping one would silently
   * reset a limit.
   */
  maxValues?: number;
}

/** Admitted units per fixed-window index: the same layout as the Redis hash `hitWindow` keeps. */
type WindowCounts = Map<number, number>;

/** A hold index (`reserveHold`): each member's owner and amounts, as the Redis hash records them. */
interface HoldIndex {
  holds: Map<string, { owner: string; held: Map<string, number> }>;
}

interface Entry {
  /** Bytes from `set`, a counter, `hitWindow`'s per-window counts, or a hold index. */
  value: Uint8Array | number | WindowCounts | HoldIndex;
  /** Epoch ms after which the entry no longer exists. Every entry has one (P6). */
  expiresAt: number;
}

/**
 * The in-process `StateBackend` for a single replica (the embedded default and tests).
 *
 * Each method runs synchronously inside one promise callback, which is what makes it atomic in a
 * single Node process; it is **not** shared between replicas, so a multi-replica deployment must
 * use Redis for limits to be global (P5). Expiry is lazy (checked on access) plus a periodic
 * sweep of at most `sweepBatch` entries per tick on an unref'd timer, so expired keys do not
 * accumulate and the timer never keeps the process alive. `close()` stops the timer and drops
 * everything.
 */
export function createMemoryState(opts: MemoryStateOptions = {}): StateBackend {
  const now = opts.now ?? Date.now;
  const sweepBatch = opts.sweepBatch ?? 1000;
  const maxValues = opts.maxValues ?? 100_000;
  const entries = new Map<string, Entry>();
  /** Keys holding bytes, in write order: the eviction queue for `maxValues`. */
  const valueKeys = new Set<string>();
  let sweepCursor: Iterator<[string, Entry]> | undefined;
  let closed = false;

  const timer = setInterval(sweep, opts.sweepIntervalMs ?? 1000);
  timer.unref();

  function sweep(): void {
    const at = now();
    for (let examined = 0; examined < sweepBatch; examined++) {
      sweepCursor ??= entries.entries();
      const next = sweepCursor.next();
      if (next.done) {
        sweepCursor = undefined;
        return;
      }
      const [key, entry] = next.value;
      if (entry.expiresAt <= at) remove(key);
    }
  }

  function remove(key: string): boolean {
    valueKeys.delete(key);
    return entries.delete(key);
  }

  function live(key: string): Entry | undefined {
    const entry = entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt > now()) return entry;
    remove(key);
    return undefined;
  }

  function counterOf(key: string, entry: Entry | undefined): number {
    if (entry === undefined) return 0;
    if (typeof entry.value === "number") return entry.value;
    if (entry.value instanceof Map) throw new Error(`"${key}" holds a rate-limit window, not a counter`);
    if (!(entry.value instanceof Uint8Array)) throw new Error(`"${key}" holds a hold index, not a counter`);
    const text = new TextDecoder().decode(entry.value);
    if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
      throw new Error(`value at "${key}" is not an integer counter`);
    }
    return Number(text);
  }

  function writeCounter(key: string, value: number, expiresAt: number): void {
    valueKeys.delete(key);
    entries.set(key, { value, expiresAt });
  }

  function open(): void {
    if (closed) throw new Error("memory state backend is closed");
  }

  function reserveNow(requested: readonly ReserveEntry[], ttlMs: number): ReserveResult {
    open();
    stateArguments.reserve(requested);
    stateArguments.ttl(ttlMs);
    const pending = new Map<string, number>();
    for (const [index, { key, amount, limit }] of requested.entries()) {
      const current = pending.get(key) ?? counterOf(key, live(key));
      if (current + amount > limit) return { ok: false, index, current };
      pending.set(key, current + amount);
    }
    const expiresAt = now() + ttlMs;
    for (const [key, total] of pending) writeCounter(key, total, expiresAt);
    return { ok: true };
  }

  function holdIndex(key: string): HoldIndex | undefined {
    const value = live(key)?.value;
    if (value === undefined) return undefined;
    if (typeof value === "number" || value instanceof Uint8Array || value instanceof Map) throw new Error(`"${key}" is not a hold index`);
    return value;
  }

  /** Sets a counter (removed at ≤ 0), keeping its expiry unless `expiresAt` is given. */
  function setCounter(key: string, value: number, expiresAt?: number): void {
    const entry = live(key);
    if (value <= 0) remove(key);
    else writeCounter(key, value, expiresAt ?? entry?.expiresAt ?? now());
  }

  /** The per-window counts at `key` (an empty map when absent). */
  function windowCounts(key: string): WindowCounts {
    const stored = live(key)?.value;
    if (stored !== undefined && !(stored instanceof Map)) {
      throw new Error(`"${key}" holds a value or counter, not a rate-limit window`);
    }
    return stored ?? new Map();
  }

  /** `hitWindows` after its argument checks: every entry decided on one clock reading, all or none counted. */
  function decideWindows(list: readonly WindowHitEntry[], windowMs: number, nowMs: number | undefined): WindowHits {
    const at = nowMs ?? now();
    const index = Math.floor(at / windowMs);
    const decided = list.map((entry) => {
      const counts = windowCounts(entry.key);
      const current = counts.get(index) ?? 0;
      const hit = evaluateSlidingWindow({
        previous: counts.get(index - 1) ?? 0,
        current,
        cost: entry.cost,
        limit: entry.limit,
        windowMs,
        elapsedMs: at - index * windowMs,
      });
      return { counts, current, hit };
    });
    const admitted = decided.every((d) => d.hit.allowed);
    if (admitted) {
      decided.forEach(({ counts, current }, i) => {
        const key = list[i]!.key;
        if (!counts.has(index)) {
          // A new window began: keep only it and the previous one, so the entry stays tiny.
          for (const stale of counts.keys()) if (stale !== index - 1) counts.delete(stale);
        }
        counts.set(index, current + list[i]!.cost);
        valueKeys.delete(key);
        entries.set(key, { value: counts, expiresAt: now() + 2 * windowMs });
      });
    }
    return { admitted, hits: decided.map((d) => d.hit), window: index };
  }

  return {
    async get(key) {
      open();
      const entry = live(key);
      if (entry === undefined) return undefined;
      if (typeof entry.value === "number") return new TextEncoder().encode(String(entry.value));
      if (!(entry.value instanceof Uint8Array)) throw new Error(`"${key}" holds a rate-limit window or hold index, not bytes`);
      return entry.value.slice();
    },

    async set(key, value, ttlMs) {
      open();
      stateArguments.ttl(ttlMs);
      valueKeys.delete(key);
      valueKeys.add(key);
      entries.set(key, { value: value.slice(), expiresAt: now() + ttlMs });
      for (const oldest of valueKeys) {
        if (valueKeys.size <= maxValues) break;
        remove(oldest);
      }
    },

    async delete(key) {
      open();
      const existed = live(key) !== undefined;
      remove(key);
      return existed;
    },

    async deleteByPrefix(prefix) {
      open();
      let removed = 0;
      for (const key of [...entries.keys()]) {
        if (key.startsWith(prefix) && live(key) !== undefined) {
          remove(key);
          removed++;
        }
      }
      return removed;
    },

    async increment(key, delta, ttlMs) {
      open();
      stateArguments.delta(delta);
      stateArguments.ttl(ttlMs);
      const entry = live(key);
      const next = counterOf(key, entry) + delta;
      writeCounter(key, next, entry?.expiresAt ?? now() + ttlMs);
      return next;
    },

    async incrementMany(requested, ttlMs) {
      open();
      stateArguments.increments(requested);
      stateArguments.ttl(ttlMs);
      // Read every counter first, so a key holding bytes rejects before anything is written.
      const totals = new Map<string, { value: number; expiresAt: number }>();
      for (const { key } of requested) {
        if (totals.has(key)) continue;
        const entry = live(key);
        totals.set(key, { value: counterOf(key, entry), expiresAt: entry?.expiresAt ?? now() + ttlMs });
      }
      const values = requested.map(({ key, delta }) => {
        const total = totals.get(key)!;
        total.value += delta;
        return total.value;
      });
      for (const [key, { value, expiresAt }] of totals) writeCounter(key, value, expiresAt);
      return values;
    },

    async reserve(requested: readonly ReserveEntry[], ttlMs: number): Promise<ReserveResult> {
      return reserveNow(requested, ttlMs);
    },

    async release(requested: readonly ReleaseEntry[], ttlMs: number): Promise<void> {
      open();
      stateArguments.release(requested);
      stateArguments.ttl(ttlMs);
      for (const { key, amount } of requested) {
        const entry = live(key);
        if (entry === undefined) continue;
        const next = counterOf(key, entry) - amount;
        if (next > 0) writeCounter(key, next, now() + ttlMs);
        else remove(key);
      }
    },

    async reserveHold(hold, journal, ttlMs): Promise<HoldResult> {
      open();
      holdArguments.journal(journal);
      holdArguments.keys(hold.counters.map((entry) => entry.key));
      const missing = (hold.requires ?? []).flatMap((key, position) => (live(key) === undefined ? [position] : []));
      if (missing.length > 0) {
        stateArguments.reserve([hold.marker, ...hold.counters]);
        stateArguments.ttl(ttlMs);
        return { ok: false, missing };
      }
      const index = holdIndex(journal.index);
      const result = reserveNow([hold.marker, ...hold.counters], ttlMs);
      if (!result.ok) return result;
      const holds = index?.holds ?? new Map<string, { owner: string; held: Map<string, number> }>();
      const record = holds.get(journal.member) ?? { owner: journal.owner, held: new Map<string, number>() };
      for (const { key, amount } of hold.counters) record.held.set(key, (record.held.get(key) ?? 0) + amount);
      holds.set(journal.member, record);
      const expiresAt = Math.max(now() + ttlMs, live(journal.index)?.expiresAt ?? 0);
      entries.set(journal.index, { value: { holds }, expiresAt });
      return result;
    },

    async settleHold(settlement, ttlMs): Promise<SettledHold> {
      open();
      stateArguments.release([...settlement.add, ...settlement.replace]);
      stateArguments.ttl(ttlMs);
      holdArguments.keys(settlement.replace.map((entry) => entry.key));
      const index = holdIndex(settlement.index);
      if (live(settlement.marker) === undefined) return { settled: false };
      const record = index?.holds.get(settlement.member);
      const expiresAt = now() + ttlMs;
      const counters = new Map<string, number>();
      for (const { key, amount } of settlement.add) {
        const value = counterOf(key, live(key)) + amount;
        if (amount > 0) writeCounter(key, value, expiresAt);
        counters.set(key, value);
      }
      for (const { key, amount } of settlement.replace) {
        const entry = live(key);
        const value = counterOf(key, entry) + amount - (record?.held.get(key) ?? 0);
        if (value > 0 || entry !== undefined) setCounter(key, value, expiresAt);
        counters.set(key, Math.max(0, value));
      }
      index?.holds.delete(settlement.member);
      if (index?.holds.size === 0) remove(settlement.index);
      remove(settlement.marker);
      return { settled: true, counters };
    },

    async openHolds(key): Promise<OpenHold[]> {
      open();
      return [...(holdIndex(key)?.holds ?? [])].map(([member, { owner, held }]) => ({ member, owner, held: new Map(held) }));
    },

    async releaseHolds(key, holds, markerTtlMs): Promise<OpenHold[]> {
      open();
      stateArguments.ttl(markerTtlMs);
      const index = holdIndex(key);
      const declared = new Set(holds.flatMap((hold) => hold.keys));
      const released: OpenHold[] = [];
      for (const hold of holds) {
        const record = index?.holds.get(hold.member);
        if (record === undefined || record.owner !== hold.owner || [...record.held.keys()].some((k) => !declared.has(k))) continue;
        for (const [counter, amount] of record.held) {
          const entry = live(counter);
          if (amount > 0 && entry !== undefined) setCounter(counter, counterOf(counter, entry) - amount);
        }
        index!.holds.delete(hold.member);
        const marker = live(hold.marker);
        if (marker !== undefined) marker.expiresAt = Math.min(marker.expiresAt, now() + markerTtlMs);
        released.push({ member: hold.member, owner: record.owner, held: new Map(record.held) });
      }
      if (index?.holds.size === 0) remove(key);
      return released;
    },

    async hitWindow(key, cost, limit, windowMs, nowMs): Promise<WindowHit> {
      open();
      stateArguments.window(cost, limit, windowMs, nowMs);
      return decideWindows([{ key, cost, limit }], windowMs, nowMs).hits[0]!;
    },

    async hitWindows(list, windowMs, nowMs): Promise<WindowHits> {
      stateArguments.windows(list, windowMs, nowMs);
      if (list.length === 0) return { admitted: true, hits: [] };
      open();
      return decideWindows(list, windowMs, nowMs);
    },

    async unhitWindows(list, windowMs, window) {
      stateArguments.unhit(list, windowMs, window);
      open();
      for (const { key, cost } of list) {
        // In place: the entry keeps its expiry. Absent (expired) or a window no longer kept: nothing to take back.
        const counts = windowCounts(key);
        const current = counts.get(window);
        if (current !== undefined) counts.set(window, Math.max(0, current - cost));
      }
    },

    async ping() {
      open();
    },

    async close() {
      closed = true;
      clearInterval(timer);
      entries.clear();
      valueKeys.clear();
    },
  };
}
