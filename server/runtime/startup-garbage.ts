/**
 * One full garbage collection shortly after start-up.
 *
 * What start-up leaves behind can stay resident long after it is garbage: V8 collects its old
 * generation only when allocation pushes it to a limit, and an idle replica allocates almost
 * nothing. On the embedded default's first start the biggest piece is PGlite's initdb — a second
 * WebAssembly instance with its own ≈ 180 MB of memory, unreachable a few milliseconds after
 * PGlite is ready: an idle first start measured 605–665 MB resident where the same gateway
 * restarted on its data sits at 191–193 (bench/README.md, "Fourteenth pass"). One collection a
 * moment after "listening" gives it back (≈ 10 ms on the main thread, once).
 *
 * The collector is reached the way `--expose-gc` reaches it, without asking the operator for the
 * flag: set for the span of one `vm` context's creation (the flag only decides whether a new
 * context gets a `gc` global), then unset; a process started with `--expose-gc` uses its own.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/** V8's full collection (what `--expose-gc`'s global `gc()` does). */
export function fullCollector(): () => void {
  const own = (globalThis as { gc?: () => void }).gc;
  if (typeof own === "function") return own;
  setFlagsFromString("--expose-gc");
  try {
    return runInNewContext("gc") as () => void;
  } finally {
    setFlagsFromString("--no-expose-gc");
  }
}

/** How long after "listening" the collection runs: PGlite's initdb instance is garbage by then. */
const STARTUP_GC_DELAY_MS = 100;

/** Runs one full collection shortly, without keeping the process alive for it. */
export function collectStartupGarbage(): void {
  setTimeout(fullCollector(), STARTUP_GC_DELAY_MS).unref();
}
