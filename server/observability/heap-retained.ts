import { constants, PerformanceObserver } from "node:perf_hooks";
import { getHeapSpaceStatistics } from "node:v8";

/** V8 spaces of the young generation: what they hold is garbage or about to be promoted. */
const YOUNG_SPACES = new Set(["new_space", "new_large_object_space"]);

let retained: number | undefined;
let observer: PerformanceObserver | undefined;

/** Bytes in use in V8's old generation (every space but the young ones) now. */
function oldGenerationUsed(): number {
  let bytes = 0;
  for (const s of getHeapSpaceStatistics()) if (!YOUNG_SPACES.has(s.space_name)) bytes += s.space_used_size;
  return bytes;
}

/**
 * The old generation's bytes in use right after the last full (mark-compact) collection, or
 * `undefined` before the first one: what the process's live objects take, the figure a leak
 * moves. Heap used and RSS also move when V8 merely sizes its heap or scavenges, so a soak's slope
 * of either reads growth where there is none; this one does not. Read in the GC observer's
 * callback, which Node delivers shortly after the collection: a scavenge in between can promote a
 * little more, never collect any. One observer per process (the heap is the process's), started on
 * the first call and never stopped; it costs nothing per request, only one callback per GC (and
 * prom-client's process metrics observe GC the same way).
 */
export function heapRetainedBytes(): number | undefined {
  if (observer === undefined) {
    observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        if ((e as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) retained = oldGenerationUsed();
      }
    });
    observer.observe({ entryTypes: ["gc"] });
  }
  return retained;
}
