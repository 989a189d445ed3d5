import { Counter, type Registry } from "prom-client";

/** Options of {@link createBatchedCounter}: a prom-client counter's. */
export interface BatchedCounterOptions<L extends string> {
  name: string;
  help: string;
  labelNames: readonly L[];
  registers: Registry[];
}

/** A counter incremented by label values in `labelNames` order. */
export interface BatchedCounter {
  /** Adds `n` (default 1) to the series of `values` (one per label name, in order). */
  inc(values: readonly string[], n?: number): void;
}

/** The separator of a series key: label values are ids and enums, never control characters. */
const SEP = "\u0001";

/**
 * A prom-client `Counter` whose increments are summed in a plain map per series and folded into
 * the counter when it is read (its `collect`, run by every scrape before the values are taken),
 * so a scrape shows every increment made before it.
 *
 * Why: prom-client's `inc(labels, n)` validates every label name and hashes the label object
 * (sorting its keys) on each call; the model-call metrics make six such calls per request, ≈ 3 %
 * of a call's CPU on the OpenAI surface's skeleton (bench/README.md, fourth pass). Here a call is
 * one string join and one map lookup. The series kept are the ones prom-client keeps anyway (the
 * label values are bounded by configuration, see `Metrics`).
 */
export function createBatchedCounter<L extends string>(opts: BatchedCounterOptions<L>): BatchedCounter {
  const series = new Map<string, { labels: Record<L, string>; pending: number }>();
  const names = opts.labelNames;
  new Counter<L>({
    name: opts.name,
    help: opts.help,
    labelNames: names,
    registers: opts.registers,
    collect() {
      for (const entry of series.values()) {
        if (entry.pending === 0) continue;
        this.inc(entry.labels, entry.pending);
        entry.pending = 0;
      }
    },
  });
  return {
    inc(values, n = 1) {
      if (values.length !== names.length) throw new Error(`${opts.name}: ${values.length} label values for ${names.length} labels`);
      const key = values.join(SEP);
      let entry = series.get(key);
      if (entry === undefined) {
        const labels = {} as Record<L, string>;
        names.forEach((name, i) => (labels[name] = values[i]!));
        entry = { labels, pending: 0 };
        series.set(key, entry);
      }
      entry.pending += n;
    },
  };
}
