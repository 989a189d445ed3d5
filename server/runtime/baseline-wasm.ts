/**
 * WebAssembly compiled by V8's baseline compiler only (Liftoff) while one module loads.
 *
 * The embedded default runs Postgres as a 9 MB WebAssembly module (PGlite). V8 compiles it with
 * Liftoff and then, by default, recompiles the functions it finds hot with its optimising tier in
 * background threads: starting PGlite (initdb, bootstrap) makes most of Postgres hot, and the
 * optimised code, the compilers' memory kept by the threads' malloc arenas and a slower release of
 * the initdb instance leave the process ≈ 100 MB larger for good (bench/README.md, "Fourteenth
 * pass": an embedded replica at 64 callers peaks at 311 MB with Liftoff only against 413 with
 * both tiers, the same 16 MB of shared buffers). The price is Postgres's own CPU — the ledger's
 * batched insert costs 45–48 µs a row instead of 29–32 — which is ≈ 4–7 % of an embedded call
 * at 64 callers (paired, same bench). Start-up is faster (≈ 1.1 instead of 1.45 s).
 *
 * `--liftoff-only` turns V8's dynamic tier-up off (a flag implication) and a module compiled then
 * carries no tier-up checks, so it stays on Liftoff; setting it for the span of `load` and then
 * `--no-liftoff-only --wasm-dynamic-tiering` gives modules compiled later (undici's HTTP parser,
 * compiled on its first connection) both tiers again. `--wasm-tier-up`, which the implication
 * also clears, is left off: set again, it would tier up the baseline module after all. A test
 * checks both halves with V8's own introspection (`baseline-wasm.child.ts`), so a Node whose V8
 * reads these flags differently fails it. V8 flags on the process's own command line (or
 * `NODE_OPTIONS`) that choose a WebAssembly tier win: then nothing is changed.
 */
import { setFlagsFromString } from "node:v8";

const TIER_FLAG = /^--(no-)?(liftoff|wasm-tier|wasm-dynamic-tiering|wasm-lazy)/;

/** Whether the process's own flags already choose how WebAssembly is compiled. */
export function wasmTierChosen(execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  return [...execArgv, ...(nodeOptions ?? "").split(/\s+/)].some((arg) => TIER_FLAG.test(arg.replaceAll("_", "-")));
}

/** Loads running inside {@link withBaselineWasm} now: the flag is unset when the last one ends. */
let loading = 0;

/** Runs `load` with WebAssembly compiled by Liftoff alone, unless the process's flags chose a tier. */
export async function withBaselineWasm<T>(load: () => Promise<T>): Promise<T> {
  if (wasmTierChosen(process.execArgv, process.env.NODE_OPTIONS)) return load();
  if (loading++ === 0) setFlagsFromString("--liftoff-only");
  try {
    return await load();
  } finally {
    if (--loading === 0) setFlagsFromString("--no-liftoff-only --wasm-dynamic-tiering");
  }
}
