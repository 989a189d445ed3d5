/**
 * How far V8's old generation may grow past its live size before the next full GC.
 *
 * V8 picks the factor itself: up to 4× the live size once the heap limit is 2 GB or more, which
 * Node gives any machine with 8 GB or more. A replica's live heap is ≈ 45 MB, but a call's objects
 * outlive two scavenges while it waits on Redis and the provider, so under load they are promoted
 * and die in the old generation: with the 4× factor the old space grows to 150–200 MB of mostly
 * garbage before a mark-compact, and V8 keeps the pages (resident memory 250–300 MB at 64
 * callers). A factor of 2 (100 %) keeps the same replica near 210 MB, but each extra mark-compact
 * costs ≈ 150 ms of marking on a helper thread: ≈ 55 µs more GC CPU per call (bench/README.md,
 * "Resident memory"). So the default is V8's own choice (0); in a container with a memory limit
 * Node sizes the heap from the limit and V8 already grows it less.
 *
 * Unlike `--max-old-space-size` this is no cap: a replica that needs more memory still gets it
 * (collecting more often), it never dies of an out-of-memory error for the setting.
 *
 * `--heap-growing-percent` is read each time V8 recomputes its limits, so setting it after start
 * takes effect at the next GC (a test checks it). It cannot go in `NODE_OPTIONS` (Node refuses V8
 * flags there); `node --heap-growing-percent=N` on the command line is overridden by a non-zero
 * setting here and kept with 0.
 */
import { setFlagsFromString } from "node:v8";

/** Applies `percent` (0: leave V8's own factor). */
export function applyHeapGrowth(percent: number): void {
  if (!Number.isInteger(percent) || percent < 0) throw new RangeError(`heap growth must be a non-negative integer percent, got ${percent}`);
  if (percent > 0) setFlagsFromString(`--heap-growing-percent=${percent}`);
}
