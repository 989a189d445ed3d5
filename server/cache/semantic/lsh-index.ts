import { createRandom } from "../../sandbox/seeded.js";
import { cosine } from "./local-embedding.js";

/** Options of {@link createLshIndex}. */
export interface LshIndexOptions {
  /** Vector length; every vector added or searched must have it. */
  dimensions: number;
  /** Most entries kept; beyond it the least recently used one is dropped (default 2000). */
  maxEntries?: number;
  /** Hash tables (default 10). More tables: better recall, more memory. */
  tables?: number;
  /** Hyperplanes (bits) per table (default 10). More bits: smaller buckets, worse recall. */
  bits?: number;
  /** Below this many entries, search scans everything exactly (default 256). */
  exactBelow?: number;
  /** Seed of the hyperplanes (default fixed: every replica hashes alike). */
  seed?: number;
}

/** One search result. */
export interface LshMatch<T> {
  id: string;
  value: T;
  similarity: number;
}

/** An approximate-nearest-neighbour index over unit vectors, bounded and LRU. */
export interface LshIndex<T> {
  /** Adds or replaces the entry `id`. */
  add(id: string, vector: Float32Array, value: T): void;
  /** Removes the entry `id`. */
  remove(id: string): void;
  /**
   * The most similar entry with similarity ≥ `threshold` whose value passes `accept`, or
   * undefined. A hit counts as a use (LRU).
   */
  nearest(vector: Float32Array, threshold: number, accept?: (value: T) => boolean): LshMatch<T> | undefined;
  readonly size: number;
}

interface Entry<T> {
  vector: Float32Array;
  value: T;
  buckets: string[];
}

/**
 * Random-hyperplane LSH (Charikar's SimHash): each table hashes a vector to the signs of its dot
 * products with `bits` random hyperplanes, so two vectors at angle θ share a table's bucket with
 * probability (1 − θ/π)^bits; a query looks in its bucket of every table and ranks the candidates
 * by exact cosine. With the defaults (10 tables × 10 bits), a pair at cosine 0.95 (θ ≈ 18°) is
 * found with probability 1 − (1 − 0.9¹⁰)¹⁰ ≈ 0.99, while a bucket holds ~1/1024 of the index.
 * Small indexes are scanned exactly. Size is bounded: the least recently used entry goes first.
 */
export function createLshIndex<T>(opts: LshIndexOptions): LshIndex<T> {
  const dims = opts.dimensions;
  const maxEntries = opts.maxEntries ?? 2000;
  const tables = opts.tables ?? 10;
  const bits = opts.bits ?? 10;
  const exactBelow = opts.exactBelow ?? 256;
  const random = createRandom(opts.seed ?? 0x15a7);
  // Gaussian-ish hyperplanes (sum of uniforms) are enough for sign hashing.
  const planes: Float32Array[] = Array.from({ length: tables * bits }, () => {
    const p = new Float32Array(dims);
    for (let i = 0; i < dims; i++) p[i] = random() + random() + random() - 1.5;
    return p;
  });
  /** Insertion order is recency order: the first key is the least recently used. */
  const entries = new Map<string, Entry<T>>();
  const buckets = new Map<string, Set<string>>();

  const bucketsOf = (vector: Float32Array): string[] => {
    const out: string[] = [];
    for (let t = 0; t < tables; t++) {
      let code = 0;
      for (let b = 0; b < bits; b++) {
        const plane = planes[t * bits + b]!;
        let dot = 0;
        for (let i = 0; i < dims; i++) dot += plane[i]! * vector[i]!;
        if (dot >= 0) code |= 1 << b;
      }
      out.push(`${t}:${code}`);
    }
    return out;
  };
  const remove = (id: string) => {
    const entry = entries.get(id);
    if (entry === undefined) return;
    entries.delete(id);
    for (const b of entry.buckets) {
      const set = buckets.get(b);
      set?.delete(id);
      if (set?.size === 0) buckets.delete(b);
    }
  };
  const touch = (id: string, entry: Entry<T>) => {
    entries.delete(id);
    entries.set(id, entry);
  };

  return {
    get size() {
      return entries.size;
    },
    add(id, vector, value) {
      if (vector.length !== dims) throw new RangeError(`vector has ${vector.length} dimensions, the index ${dims}`);
      remove(id);
      const entry: Entry<T> = { vector, value, buckets: bucketsOf(vector) };
      entries.set(id, entry);
      for (const b of entry.buckets) {
        let set = buckets.get(b);
        if (set === undefined) buckets.set(b, (set = new Set()));
        set.add(id);
      }
      while (entries.size > maxEntries) remove(entries.keys().next().value!);
    },
    remove,
    nearest(vector, threshold, accept) {
      if (vector.length !== dims) return undefined;
      let candidates: Iterable<string>;
      if (entries.size < exactBelow) {
        candidates = entries.keys();
      } else {
        const found = new Set<string>();
        for (const b of bucketsOf(vector)) for (const id of buckets.get(b) ?? []) found.add(id);
        candidates = found;
      }
      let best: LshMatch<T> | undefined;
      for (const id of [...candidates]) {
        const entry = entries.get(id)!;
        const similarity = cosine(vector, entry.vector);
        if (similarity < threshold || (best !== undefined && similarity <= best.similarity)) continue;
        if (accept !== undefined && !accept(entry.value)) continue;
        best = { id, value: entry.value, similarity };
      }
      if (best !== undefined) touch(best.id, entries.get(best.id)!);
      return best;
    },
  };
}
