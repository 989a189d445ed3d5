import type { IncrementEntry, StateBackend } from "../store/state/state-backend.js";

/** Options of {@link createCounterBuffer}. */
export interface CounterBufferOptions {
  /** How often pending deltas are written (default 1000 ms; the timer is unref'd). */
  flushIntervalMs?: number;
  /** Pending keys that trigger an early flush (default 10 000); twice as many are kept at most. */
  maxKeys?: number;
  /** Most keys written by one `incrementMany` call (default 1000), so no one script runs long. */
  batchKeys?: number;
}

/** Dependencies of {@link createCounterBuffer}. */
export interface CounterBufferDeps {
  state: StateBackend;
  /** TTL of the counters (the `incrementMany` TTL policy: set on creation, then kept). */
  ttlMs: number;
  /** Receives failed flushes and dropped deltas; default: ignored. */
  onError?: (err: unknown) => void;
  now?: () => number;
}

/** Counter deltas summed in-process and written to the StateBackend in batches. */
export interface CounterBuffer {
  /** Adds `delta` to the pending delta of `key`. Never throws or waits. */
  add(key: string, delta: number): void;
  /**
   * Writes every delta added before the call (waiting for a flush already under way). Never
   * rejects: a failure goes to `onError` and its deltas stay pending for the next flush.
   */
  flush(): Promise<void>;
  /** Stops the timer and flushes. Later `add`s are kept until the next explicit `flush`. */
  close(): Promise<void>;
}

/**
 * Buffers counter increments so that a hot path costs a `Map` update instead of a round trip:
 * every `flushIntervalMs`, or as soon as `maxKeys` distinct keys are pending, the summed deltas
 * go out as `incrementMany` calls (one per `batchKeys` keys, so usually one). One flush runs at a
 * time. A failed flush puts its deltas back (summed with newer ones) and is retried on the next
 * tick; an early flush is not attempted within one interval of a failure, so an outage costs one
 * attempt per interval. While the backend fails, at most `2 × maxKeys` keys are kept; deltas of
 * further keys are dropped and reported to `onError`.
 *
 * Deltas not yet flushed are lost if the process dies (≤ one interval of counts on `kill -9`),
 * and a flush whose reply is lost after the backend applied it (a timeout) is applied again on
 * retry: fit for statistics, not for money.
 */
export function createCounterBuffer(deps: CounterBufferDeps, opts: CounterBufferOptions = {}): CounterBuffer {
  const now = deps.now ?? Date.now;
  const intervalMs = opts.flushIntervalMs ?? 1000;
  const maxKeys = opts.maxKeys ?? 10_000;
  const batchKeys = opts.batchKeys ?? 1000;
  let pending = new Map<string, number>();
  let inFlight: Promise<void> | undefined;
  let failedAt = -Infinity;
  let dropped = 0;

  const report = (err: unknown): void => {
    try {
      deps.onError?.(err);
    } catch {
      // A failing error handler must not break the flush loop.
    }
  };

  /** Merges `delta` into the pending map; false when the key is new and the map is full. */
  const merge = (key: string, delta: number, limit: number): boolean => {
    const current = pending.get(key);
    if (current === undefined && pending.size >= limit) return false;
    pending.set(key, (current ?? 0) + delta);
    return true;
  };

  const write = async (batch: Map<string, number>): Promise<void> => {
    const entries: IncrementEntry[] = [];
    for (const [key, delta] of batch) if (delta !== 0) entries.push({ key, delta });
    let done = 0;
    try {
      for (; done < entries.length; done += batchKeys) {
        await deps.state.incrementMany(entries.slice(done, done + batchKeys), deps.ttlMs);
      }
    } catch (err) {
      failedAt = now();
      for (const { key, delta } of entries.slice(done)) if (!merge(key, delta, 2 * maxKeys)) dropped++;
      report(err);
    }
    if (dropped > 0) {
      report(new Error(`counter buffer full: dropped the deltas of ${dropped} keys`));
      dropped = 0;
    }
  };

  /** Starts a flush of everything pending, or returns the one under way. */
  const start = (): Promise<void> => {
    if (inFlight !== undefined) return inFlight;
    if (pending.size === 0) return Promise.resolve();
    const batch = pending;
    pending = new Map();
    inFlight = write(batch).finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };

  const timer = setInterval(() => void start(), intervalMs);
  timer.unref();

  const flush = async (): Promise<void> => {
    // A flush under way holds only older deltas: wait for it, then write what it left.
    if (inFlight !== undefined) await inFlight;
    await start();
  };

  return {
    add(key, delta) {
      if (delta === 0) return;
      if (!pending.has(key) && pending.size >= maxKeys && inFlight === undefined && now() - failedAt >= intervalMs) void start();
      if (!merge(key, delta, 2 * maxKeys)) dropped++;
    },
    flush,
    async close() {
      clearInterval(timer);
      await flush();
    },
  };
}
