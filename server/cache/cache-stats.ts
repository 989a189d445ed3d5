import type { CacheStatusName } from "../pipeline/model-call.js";
import type { StateBackend } from "../store/state/state-backend.js";
import { statsKey } from "./cache-layout.js";
import { createCounterBuffer, type CounterBufferOptions } from "./counter-buffer.js";

/** Length of one statistics period; reports cover the current and the previous one. */
export const STATS_PERIOD_MS = 7 * 24 * 3_600_000;

const FIELDS = ["hits_exact", "hits_semantic", "misses", "bypasses", "saved", "entries", "bytes"] as const;
type Field = (typeof FIELDS)[number];

/** Cache statistics of a scope, summed over the reporting window. */
export interface CacheStatsReport {
  exactHits: number;
  semanticHits: number;
  misses: number;
  bypasses: number;
  /** Hits ÷ (hits + misses); 0 with no traffic. */
  hitRatio: number;
  /** Cost the hits saved, micro-USD. */
  savedMicrosUsd: number;
  /** Entries stored in the window minus entries purged (expiry is not subtracted: approximate). */
  entries: number;
  /** Bytes stored in the window minus an average share per purged entry (approximate). */
  bytes: number;
  /** Start of the window (epoch ms). */
  since: number;
}

/** Dependencies of {@link createCacheStats}. */
export interface CacheStatsDeps {
  state: StateBackend;
  now?: () => number;
  onError?: (err: unknown) => void;
}

/** Global cache counters in the StateBackend, so every replica's traffic shows in one report. */
export interface CacheStats {
  /** Counts one call's cache outcome (`saved`: the micro-USD a hit saved). Never throws or waits. */
  record(orgId: string, route: string, status: CacheStatusName, savedMicrosUsd?: bigint): void;
  /** Counts one stored entry of `bytes` bytes. Never throws or waits. */
  stored(orgId: string, route: string, bytes: number): void;
  /** Subtracts `count` purged entries from the gauges of the scope and the scopes above it. */
  purged(orgId: string | undefined, route: string | undefined, count: number): Promise<void>;
  /**
   * The report of one org (or every org), optionally one route. Flushes this replica's pending
   * counts first, so it includes every event recorded here before the call; other replicas'
   * events show once they flush (within their flush interval).
   */
  read(orgId?: string, route?: string): Promise<CacheStatsReport>;
  /** Writes the pending counts now. Never rejects (failures go to `onError`). */
  flush(): Promise<void>;
  /** Stops the flush timer and writes the pending counts: call it on shutdown. */
  close(): Promise<void>;
}

/**
 * Creates the statistics counters. Each event increments the counters of its (org, route), its
 * org, and the whole installation (`*`), in fixed 7-day periods whose keys expire after two
 * periods (no immortal keys, P6); a report sums the current and previous periods. Events are
 * summed in-process and flushed as one `incrementMany` per interval (`createCounterBuffer`, 1 s
 * by default), so recording costs no round trip and statistics never slow or fail a request (a
 * failed flush goes to `onError` and is retried). A `kill -9` loses at most one interval of counts.
 */
export function createCacheStats(deps: CacheStatsDeps, opts: CounterBufferOptions = {}): CacheStats {
  const now = deps.now ?? Date.now;
  const ttlMs = 2 * STATS_PERIOD_MS + 3_600_000;
  const buffer = createCounterBuffer({ state: deps.state, ttlMs, now, ...(deps.onError ? { onError: deps.onError } : {}) }, opts);
  const period = () => Math.floor(now() / STATS_PERIOD_MS);
  const scopes = (orgId: string, route: string): Array<[string | undefined, string | undefined]> => [
    [orgId, route],
    [orgId, undefined],
    [undefined, undefined],
  ];
  const bump = (orgId: string, route: string, field: Field, delta: number) => {
    if (delta === 0) return;
    const p = period();
    for (const [org, r] of scopes(orgId, route)) buffer.add(statsKey(p, org, r, field), delta);
  };
  const sum = async (orgId: string | undefined, route: string | undefined, field: Field): Promise<number> => {
    const p = period();
    const values = await Promise.all([p, p - 1].map((q) => deps.state.get(statsKey(q, orgId, route, field))));
    return values.reduce((total, v) => total + (v === undefined ? 0 : Number(new TextDecoder().decode(v)) || 0), 0);
  };

  return {
    record(orgId, route, status, saved) {
      const field: Field = status === "hit_exact" ? "hits_exact" : status === "hit_semantic" ? "hits_semantic" : status === "miss" ? "misses" : "bypasses";
      bump(orgId, route, field, 1);
      if (saved !== undefined && saved > 0n) bump(orgId, route, "saved", Number(saved));
    },
    stored(orgId, route, bytes) {
      bump(orgId, route, "entries", 1);
      bump(orgId, route, "bytes", bytes);
    },
    async purged(orgId, route, count) {
      if (count <= 0) return;
      await buffer.flush();
      const p = period();
      const targets: Array<[string | undefined, string | undefined]> =
        orgId === undefined ? [[undefined, undefined]] : route === undefined ? [[orgId, undefined], [undefined, undefined]] : scopes(orgId, route);
      const [entries, bytes] = await Promise.all([sum(orgId, route, "entries"), sum(orgId, route, "bytes")]);
      const removed = Math.min(count, entries);
      const removedBytes = entries > 0 ? Math.round((bytes * removed) / entries) : 0;
      await deps.state.incrementMany(
        targets.flatMap(([org, r]) => [
          { key: statsKey(p, org, r, "entries"), delta: -removed },
          { key: statsKey(p, org, r, "bytes"), delta: -removedBytes },
        ]),
        ttlMs,
      );
    },
    async read(orgId, route) {
      await buffer.flush();
      const values = await Promise.all(FIELDS.map((f) => sum(orgId, route, f)));
      const [exactHits, semanticHits, misses, bypasses, saved, entries, bytes] = values as [number, number, number, number, number, number, number];
      const hits = exactHits + semanticHits;
      return {
        exactHits,
        semanticHits,
        misses,
        bypasses,
        hitRatio: hits + misses === 0 ? 0 : hits / (hits + misses),
        savedMicrosUsd: saved,
        entries: Math.max(0, entries),
        bytes: Math.max(0, bytes),
        since: (period() - 1) * STATS_PERIOD_MS,
      };
    },
    flush: buffer.flush,
    close: buffer.close,
  };
}
