/** A bounded closed-loop load generator: N workers, each sending back to back. */

/** One finished run. */
export interface LoadResult {
  /** Per-request latency in ms, successful requests only. */
  latencies: number[];
  ok: number;
  errors: number;
  elapsedMs: number;
}

/** Options of {@link runLoad}. */
export interface LoadOptions {
  concurrency: number;
  /** Stop after this long… */
  durationMs: number;
  /** …or after this many requests, whichever comes first (a hard bound for these machines). */
  maxRequests: number;
}

/** Runs `send` from `concurrency` workers until the time or the request bound is reached. */
export async function runLoad(send: () => Promise<void>, opts: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  let ok = 0;
  let errors = 0;
  let started = 0;
  const t0 = performance.now();
  const deadline = t0 + opts.durationMs;
  const worker = async () => {
    while (performance.now() < deadline && started < opts.maxRequests) {
      started++;
      const s = performance.now();
      try {
        await send();
        latencies.push(performance.now() - s);
        ok++;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  return { latencies, ok, errors, elapsedMs: performance.now() - t0 };
}

/** The 50th {@link percentile}. */
export const median = (values: readonly number[]): number => percentile(values, 50);

/** The p-th percentile (0..100) of a list of numbers. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}
