import type { DestinationStream } from "pino";

/** Where batches go: pino's stdout destination (sonic-boom) behind these methods; the flushes optional. */
export interface BatchTarget {
  write(text: string): unknown;
  flush?(cb: (err?: Error | null) => void): void;
  /** Writes what the target holds and has not started writing, before it returns. */
  flushSync?(): void;
  /**
   * Writes `text` before it returns: how `flushSync` hands a batch over. Not `write` then
   * `flushSync`: sonic-boom's `write` starts an asynchronous write at once (when none is in flight),
   * which its `flushSync` then leaves alone, and at exit nothing waits for it: after a natural
   * exit (the event loop run dry) Node cancels thread-pool requests not yet started, so on a busy
   * machine, where the pool's thread has not yet taken it, the batch is lost.
   */
  writeSync(text: string): void;
}

/** A destination that also hands over what waits, as pino's `logger.flush()` and an exit do. */
export interface BatchedDestination extends DestinationStream {
  flush(cb?: (err?: Error | null) => void): void;
  flushSync(): void;
}

/** Options of {@link batchedDestination}. */
export interface BatchOptions {
  /** The longest a line waits before its batch is handed over. */
  maxDelayMs: number;
  /** A batch this long (UTF-16 units) is handed over at once; default 16 384 (sonic-boom's largest write). */
  maxChars?: number;
}

/**
 * Log lines handed to `target` in batches: a batch leaves when it reaches `maxChars` or
 * `maxDelayMs` after its first line, whichever comes first, and at once on `flush`/`flushSync`
 * (`flushSync`, the exit path, writes it before it returns).
 *
 * Why: each write to stdout is a trip through libuv's thread pool (sonic-boom writes
 * asynchronously) — a worker woken, a write, a completion waking the event loop. Under load the
 * lines of a turn already share one write (they pile up while the previous one is in flight), but a
 * replica serving one call at a time paid that trip for every access-log line: 80–145 µs of CPU and
 * ≈ 0.12 ms of added latency a call at one connection (bench/README.md, thirteenth pass). No timer
 * runs while nothing waits — which is why this is not sonic-boom's own `minLength` +
 * `periodicFlush`: its periodic flush writes (an empty string) every interval, idle or not.
 */
export function batchedDestination(target: BatchTarget, opts: BatchOptions): BatchedDestination {
  const maxChars = opts.maxChars ?? 16 * 1024;
  let pending = "";
  let timer: NodeJS.Timeout | undefined;
  const take = (): string => {
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
    const batch = pending;
    pending = "";
    return batch;
  };
  const handOver = (): void => {
    const batch = take();
    if (batch !== "") target.write(batch);
  };
  return {
    write(line: string) {
      pending += line;
      if (pending.length >= maxChars) handOver();
      else if (timer === undefined) timer = setTimeout(handOver, opts.maxDelayMs).unref();
    },
    flush(cb) {
      handOver();
      if (target.flush !== undefined) target.flush(cb ?? (() => {}));
      else cb?.();
    },
    flushSync() {
      const batch = take();
      // What the target already holds came first.
      target.flushSync?.();
      if (batch !== "") target.writeSync(batch);
    },
  };
}
