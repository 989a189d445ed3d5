import type { StateBackend } from "../store/state/state-backend.js";
import { decodeEntry, encodeEntry, type CacheEntry } from "./cache-entry.js";
import { allEntriesPrefix, entryKey, keyPrefix, routePrefix, tenantPrefix } from "./cache-layout.js";

/** Dependencies of {@link createResponseCache}. */
export interface ResponseCacheDeps {
  /** Shared state (Redis with `REDIS_URL`, in-process otherwise): entries live here. */
  state: StateBackend;
  /** Epoch ms (default `Date.now`). */
  now?: () => number;
  /** Told about every backend failure (the cache then bypasses itself for a while). */
  onError?: (operation: string, err: unknown) => void;
}

/** Options of {@link createResponseCache}. */
export interface ResponseCacheOptions {
  /**
   * After a backend failure, how long every lookup and store is skipped (default 1000 ms), so a
   * Redis outage costs one command timeout per cooldown, not one per request.
   */
  cooldownMs?: number;
  /** Largest entry stored, in bytes (default {@link MAX_ENTRY_BYTES}); a larger answer is served but not stored. */
  maxEntryBytes?: number;
}

/**
 * Largest entry stored by default: 1 MiB, a few milliseconds on the wire. The StateBackend's
 * connection is the rate limits' and budgets' too, and each command has 50 ms: a 512-input
 * embeddings answer (≈ 16 MB of JSON) held up the limit checks queued behind it until they timed
 * out, refusing other tenants' calls, and its encoding held the event loop (≈ 0.8 s at 2,048 inputs).
 */
export const MAX_ENTRY_BYTES = 1024 * 1024;

/** Whose entries: a tenant (org id) and a route alias. */
export interface CacheScope {
  orgId: string;
  route: string;
}

/** Outcome of a lookup. `unavailable`: the backend failed or is cooling down; the caller bypasses. */
export type LookupResult = { status: "hit"; entry: CacheEntry; key: string } | { status: "miss" } | { status: "unavailable" };

/** What a purge removes: everything, one tenant, one tenant's route, or its keys with a hex prefix. */
export type PurgeTarget = { all: true } | { orgId: string; route?: string; keyPrefix?: string };

/** The exact response cache over a StateBackend. Never throws on the request path. */
export interface ResponseCache {
  /** The entry under `hash`, a miss (absent, unreadable, or older than `maxAgeMs`), or unavailable. */
  lookup(scope: CacheScope, hash: string, maxAgeMs?: number): Promise<LookupResult>;
  /** Reads the entry at a full state key (a semantic hit's target); `undefined` when gone or failing. */
  read(key: string): Promise<CacheEntry | undefined>;
  /** Stores `entry` under `hash` for `ttlMs`; resolves the bytes written, or 0 when it could not or it is over `maxEntryBytes`. */
  store(scope: CacheScope, hash: string, entry: CacheEntry, ttlMs: number): Promise<number>;
  /** Removes what `target` names on the shared backend; resolves how many entries went. Throws on failure. */
  purge(target: PurgeTarget): Promise<number>;
  /** False while cooling down after a backend failure. */
  available(): boolean;
}

/**
 * Creates the exact response cache. It fails open (P17, issue 8): a backend error makes the call
 * a bypass — the request goes to the provider as if there were no cache — and starts a cooldown
 * during which the cache is not consulted at all, so an unreachable Redis slows requests by at
 * most one command timeout per cooldown. Entries are written with the route's TTL (no immortal
 * keys) under a per-tenant, per-route prefix (`cache-layout.ts`).
 */
export function createResponseCache(deps: ResponseCacheDeps, opts: ResponseCacheOptions = {}): ResponseCache {
  const now = deps.now ?? Date.now;
  const cooldownMs = opts.cooldownMs ?? 1000;
  const maxEntryBytes = opts.maxEntryBytes ?? MAX_ENTRY_BYTES;
  let downUntil = 0;
  const failed = (operation: string, err: unknown) => {
    downUntil = now() + cooldownMs;
    deps.onError?.(operation, err);
  };
  const available = (): boolean => {
    // A cooldown ending further off than `cooldownMs` was started before the clock stepped back: over.
    const left = downUntil - now();
    return left <= 0 || left > cooldownMs;
  };

  return {
    available,
    async lookup(scope, hash, maxAgeMs) {
      if (!available()) return { status: "unavailable" };
      const key = entryKey(scope.orgId, scope.route, hash);
      let bytes: Uint8Array | undefined;
      try {
        bytes = await deps.state.get(key);
      } catch (err) {
        failed("lookup", err);
        return { status: "unavailable" };
      }
      const entry = bytes === undefined ? undefined : decodeEntry(bytes);
      if (entry === undefined) return { status: "miss" };
      if (maxAgeMs !== undefined && now() - entry.storedAt > maxAgeMs) return { status: "miss" };
      return { status: "hit", entry, key };
    },
    async read(key) {
      if (!available()) return undefined;
      try {
        const bytes = await deps.state.get(key);
        return bytes === undefined ? undefined : decodeEntry(bytes);
      } catch (err) {
        failed("read", err);
        return undefined;
      }
    },
    async store(scope, hash, entry, ttlMs) {
      if (!available()) return 0;
      // Vectors are counted before they are encoded: each value takes at least 2 bytes ("0,").
      if (entry.kind === "embed" && entry.response.vectors.reduce((n, v) => n + v.length, 0) * 2 > maxEntryBytes) return 0;
      const bytes = encodeEntry(entry);
      if (bytes.byteLength > maxEntryBytes) return 0;
      try {
        await deps.state.set(entryKey(scope.orgId, scope.route, hash), bytes, ttlMs);
        return bytes.byteLength;
      } catch (err) {
        failed("store", err);
        return 0;
      }
    },
    async purge(target) {
      return deps.state.deleteByPrefix(purgePrefix(target));
    },
  };
}

/** The state-key prefix a purge target covers. */
export function purgePrefix(target: PurgeTarget): string {
  if ("all" in target) return allEntriesPrefix();
  if (target.route === undefined) return tenantPrefix(target.orgId);
  if (target.keyPrefix === undefined || target.keyPrefix === "") return routePrefix(target.orgId, target.route);
  return keyPrefix(target.orgId, target.route, target.keyPrefix);
}
