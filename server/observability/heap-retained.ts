import { constants, PerformanceObserver } from "node:perf_hooks";
import { getHeapSpaceStatistics } from "node:v8";

/**
 * The V8 spaces that hold the old generation's objects. Not the young generation (garbage, or
 * about to be promoted), nor compiled code (`code_space`: it grows for hours as V8 optimises and
 * re-optimises hot functions, which is no leak; prom-client's `nodejs_heap_space_size_used_bytes`
 * reports it), nor the read-only and shared spaces (fixed).
 */
const OBJECT_SPACES = new Set(["old_space", "large_object_space"]);

let retained: number | undefined;
let observer: PerformanceObserver | undefined;

/** Bytes of objects in V8's old generation now. */
function oldObjectsUsed(): number {
  let bytes = 0;
  for (const s of getHeapSpaceStatistics()) if (OBJECT_SPACES.has(s.space_name)) bytes += s.space_used_size;
  return bytes;
}

/**
 * The bytes of the old generation's objects right after the last full (mark-compact) collection,
 * or `undefined` before the first one: what the process's live objects take, the figure a leak
 * moves. Heap used and RSS also move when V8 merely sizes its heap, scavenges or compiles, so a
 * soak's slope of either reads growth where there is none; this one does not. Read in the GC observer's
 * callback, which Node delivers shortly after the collection: a scavenge in between can promote a
 * little more, never collect any. One observer per process (the heap is the process's), started on
 * the first call and never stopped; it costs nothing per request, only one callback per GC (and
 * prom-client's process metrics observe GC the same way).
 */
export function heapRetainedBytes(): number | undefined {
  if (observer === undefined) {
    observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        if ((e as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) retained = oldObjectsUsed();
      }
    });
    observer.observe({ entryTypes: ["gc"] });
  }
  return retained;
}
