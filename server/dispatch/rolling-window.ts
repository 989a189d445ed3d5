/** Request and failure counts over the last `windowMs`, kept in a fixed number of buckets. */
export interface RollingWindow {
  record(failed: boolean, now: number): void;
  totals(now: number): { total: number; failures: number };
  clear(): void;
}

interface Bucket {
  start: number;
  total: number;
  failures: number;
}

/**
 * Creates a rolling window of `buckets` equal slices of `windowMs`: memory stays constant
 * whatever the traffic, and a slice drops out whole once it is older than the window.
 */
export function createRollingWindow(windowMs: number, buckets = 10): RollingWindow {
  const width = Math.max(1, windowMs / buckets);
  const slots: Bucket[] = Array.from({ length: buckets }, () => ({ start: -Infinity, total: 0, failures: 0 }));
  const live = (b: Bucket, now: number): boolean => b.start + windowMs > now;
  return {
    record(failed, now) {
      const start = Math.floor(now / width) * width;
      const slot = slots[Math.floor(now / width) % buckets] as Bucket;
      if (slot.start !== start) {
        slot.start = start;
        slot.total = 0;
        slot.failures = 0;
      }
      slot.total++;
      if (failed) slot.failures++;
    },
    totals(now) {
      let total = 0;
      let failures = 0;
      for (const b of slots) {
        if (!live(b, now)) continue;
        total += b.total;
        failures += b.failures;
      }
      return { total, failures };
    },
    clear() {
      for (const b of slots) {
        b.start = -Infinity;
        b.total = 0;
        b.failures = 0;
      }
    },
  };
}
