import type { StateBackend } from "../../store/state/state-backend.js";
import { semanticPrefix } from "../cache-layout.js";
import { createLshIndex, type LshIndex } from "./lsh-index.js";

/** A (tenant, route, verb) partition: similarity search never crosses one (P17, §3.4). */
export interface SemanticScope {
  orgId: string;
  route: string;
  verb: string;
}

/** What a semantic lookup compares: the embedding, and what must match exactly. */
export interface SemanticQuery {
  /** Unit vector of the normalized user text. */
  vector: Float32Array;
  /** Hash of everything but the user text (`prompt-text.ts`). */
  context: string;
  /** Numbers and negations of the prompt (`promptSignature`). */
  signature: string;
}

/** A semantic hit: the exact entry to serve and how close the stored prompt was. */
export interface SemanticHit {
  /** State key of the exact-cache entry. */
  entryKey: string;
  similarity: number;
}

/** Dependencies of {@link createSemanticCache}. */
export interface SemanticCacheDeps {
  state: StateBackend;
  onError?: (operation: string, err: unknown) => void;
}

/** Options of {@link createSemanticCache}; every bound has a default. */
export interface SemanticCacheOptions {
  /** Scopes kept in process at once; the least recently used is dropped (default 1000). */
  maxScopes?: number;
  /** Entries per scope's index (default 2000). */
  maxEntriesPerScope?: number;
  /** Slots of each scope's shared ring in the StateBackend (default 2000). */
  ringSize?: number;
  /** Most slots one lookup fetches to catch up with other replicas (default 128). */
  syncBatch?: number;
}

/** The semantic cache: an in-process ANN index per scope, fed from a ring every replica shares. */
export interface SemanticCache {
  /** The closest entry at or above `threshold` with the same context and signature. Never throws. */
  lookup(scope: SemanticScope, query: SemanticQuery, threshold: number): Promise<SemanticHit | undefined>;
  /** Publishes an entry (pointing at the exact entry `entryKey`) to every replica. Never throws. */
  add(scope: SemanticScope, query: SemanticQuery, entryKey: string, ttlMs: number): Promise<void>;
  /** Drops a local entry whose exact entry turned out to be gone (purged or expired). */
  forget(scope: SemanticScope, entryKey: string): void;
}

interface RingValue {
  /** Position in the scope's sequence (a slot is reused every `ringSize` writes). */
  i: number;
  k: string;
  c: string;
  s: string;
  /** The vector's float32 bytes, base64. */
  v: string;
}

interface LocalScope {
  index: LshIndex<{ context: string; signature: string }> | undefined;
  /** Sequence number up to which the ring has been read. */
  cursor: number;
}

/** Slots this close to the head that were not readable yet are retried on the next lookup. */
const RETRY_WINDOW = 16;
const COUNTER_TTL_MS = 30 * 24 * 3_600_000;
/** Float32 rounding a similarity may carry below its true value (see `lookup`). */
const SIMILARITY_ROUNDING = 1e-6;

/**
 * Creates the semantic cache. Sharing model: each scope has a ring in the StateBackend — a
 * counter `…:n` that every write increments and `ringSize` slots, the entry with sequence number
 * i living in slot i mod ringSize with the route's TTL — and each replica keeps its own LSH index
 * per scope, built from the ring. Before a lookup a replica reads the counter (one GET) and
 * fetches the slots written since its cursor (at most `syncBatch`), so an entry written on one
 * replica is found on every other at their next lookup. Indexes are bounded (scopes and entries,
 * LRU) and hold only vectors and keys; answers are always read from the exact cache, so a purge
 * (which deletes exact entries and the ring) takes effect everywhere at once: a vector whose exact
 * entry is gone is a miss and is forgotten, and a counter that went backwards resets the index.
 * Every StateBackend failure is reported to `onError` and reads as a miss (fail open).
 */
export function createSemanticCache(deps: SemanticCacheDeps, opts: SemanticCacheOptions = {}): SemanticCache {
  const maxScopes = opts.maxScopes ?? 1000;
  const maxEntries = opts.maxEntriesPerScope ?? 2000;
  const ringSize = opts.ringSize ?? 2000;
  const syncBatch = opts.syncBatch ?? 128;
  const scopes = new Map<string, LocalScope>();

  const prefixOf = (scope: SemanticScope) => semanticPrefix(scope.orgId, scope.route, scope.verb);
  const localOf = (scope: SemanticScope): LocalScope => {
    const key = prefixOf(scope);
    let local = scopes.get(key);
    if (local !== undefined) {
      scopes.delete(key);
    } else {
      local = { index: undefined, cursor: 0 };
    }
    scopes.set(key, local);
    while (scopes.size > maxScopes) scopes.delete(scopes.keys().next().value!);
    return local;
  };
  const insert = (local: LocalScope, vector: Float32Array, value: { context: string; signature: string }, entryKey: string) => {
    if (local.index === undefined || local.index.size === 0) {
      local.index = createLshIndex({ dimensions: vector.length, maxEntries });
    }
    try {
      local.index.add(entryKey, vector, value);
    } catch {
      // A vector of other dimensions (the route's embedding model changed): start over with it.
      local.index = createLshIndex({ dimensions: vector.length, maxEntries });
      local.index.add(entryKey, vector, value);
    }
  };
  const sync = async (scope: SemanticScope, local: LocalScope) => {
    const prefix = prefixOf(scope);
    const raw = await deps.state.get(`${prefix}n`);
    const head = raw === undefined ? 0 : Number(new TextDecoder().decode(raw)) || 0;
    if (head < local.cursor) {
      local.index = undefined;
      local.cursor = 0;
    }
    if (head === local.cursor) return;
    const from = Math.max(local.cursor, head - Math.min(ringSize, syncBatch));
    const sequence = Array.from({ length: head - from }, (_, n) => from + n);
    const values = await Promise.all(sequence.map((i) => deps.state.get(`${prefix}${i % ringSize}`)));
    let cursor = head;
    values.forEach((bytes, n) => {
      const i = sequence[n]!;
      const value = bytes === undefined ? undefined : decodeRing(bytes);
      if (value === undefined || value.i !== i) {
        if (head - i <= RETRY_WINDOW) cursor = Math.min(cursor, i);
        return;
      }
      insert(local, decodeVector(value.v), { context: value.c, signature: value.s }, value.k);
    });
    local.cursor = cursor;
  };

  return {
    async lookup(scope, query, threshold) {
      const local = localOf(scope);
      try {
        await sync(scope, local);
      } catch (err) {
        deps.onError?.("semantic sync", err);
        return undefined;
      }
      // A similarity *at* the threshold is a hit, but it is a dot product of float32 components, off
      // by up to ~1e-7 (a vector with itself sums to 0.99999998 as often as to 1.00000002): without
      // the slack a route at threshold 1 missed half its identical prompts. 1e-6 is the threshold's
      // own precision (`route-spec.ts` keeps six digits).
      const match = local.index?.nearest(query.vector, threshold - SIMILARITY_ROUNDING, (v) => v.context === query.context && v.signature === query.signature);
      return match === undefined ? undefined : { entryKey: match.id, similarity: match.similarity };
    },
    async add(scope, query, entryKey, ttlMs) {
      const local = localOf(scope);
      insert(local, query.vector, { context: query.context, signature: query.signature }, entryKey);
      const prefix = prefixOf(scope);
      try {
        const i = (await deps.state.increment(`${prefix}n`, 1, COUNTER_TTL_MS)) - 1;
        const value: RingValue = { i, k: entryKey, c: query.context, s: query.signature, v: encodeVector(query.vector) };
        await deps.state.set(`${prefix}${i % ringSize}`, new TextEncoder().encode(JSON.stringify(value)), ttlMs);
      } catch (err) {
        deps.onError?.("semantic add", err);
      }
    },
    forget(scope, entryKey) {
      scopes.get(prefixOf(scope))?.index?.remove(entryKey);
    },
  };
}

function encodeVector(v: Float32Array): string {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64");
}

function decodeVector(text: string): Float32Array {
  const bytes = Buffer.from(text, "base64");
  const out = new Float32Array(bytes.byteLength / 4);
  new Uint8Array(out.buffer).set(bytes.subarray(0, out.byteLength));
  return out;
}

function decodeRing(bytes: Uint8Array): RingValue | undefined {
  try {
    const v = JSON.parse(new TextDecoder().decode(bytes)) as Partial<RingValue>;
    if (typeof v.i !== "number" || typeof v.k !== "string" || typeof v.c !== "string" || typeof v.s !== "string" || typeof v.v !== "string") return undefined;
    return v as RingValue;
  } catch {
    return undefined;
  }
}
