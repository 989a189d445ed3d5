/**
 * Child process of baseline-wasm.test.ts (run with `--allow-natives-syntax`): compiles one small
 * WebAssembly module inside `withBaselineWasm` (after an overlapping call of it has ended) and
 * another after both, calls both until V8 would tier them up, and prints which compiler each
 * function's code came from.
 */
import { withBaselineWasm } from "./baseline-wasm.js";

/** `(func (param i32) (result i32) local.get 0 i32.const k i32.add)`, exported as `inc`. */
const moduleAdding = (k: number): Uint8Array =>
  new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 6, 1, 0x60, 1, 0x7f, 1, 0x7f, 3, 2, 1, 0, 7, 7, 1, 3, 0x69, 0x6e, 0x63, 0, 0, 0x0a, 9, 1, 7, 0, 0x20, 0, 0x41, k, 0x6a, 0x0b]);
type Inc = (x: number) => number;
// The project's types describe WebAssembly as a namespace only (no DOM library): its one call, typed here.
const wasm = (globalThis as unknown as { WebAssembly: { instantiate(bytes: Uint8Array): Promise<{ instance: { exports: Record<string, unknown> } }> } }).WebAssembly;
const instantiate = async (k: number): Promise<Inc> => (await wasm.instantiate(moduleAdding(k))).instance.exports.inc as Inc;

// Two loads overlapping: the one that ends first must not end the other's baseline span.
let endFirst!: () => void;
const firstEnded = new Promise<void>((resolve) => (endFirst = resolve));
const first = withBaselineWasm(() => firstEnded);
const baseline = await withBaselineWasm(async () => {
  endFirst();
  await first;
  return instantiate(1);
});
const later = await instantiate(2);
for (const inc of [baseline, later]) {
  let x = 0;
  for (let i = 0; i < 2_000_000; i++) x = inc(x) & 0xffff;
}
await new Promise((resolve) => setTimeout(resolve, 300)); // background tier-up
// V8 natives, enabled by the flag the test passes; `new Function` keeps them out of the parser
// that type-checks and bundles this file.
const tierOf = new Function("f", "return %IsTurboFanFunction(f) ? 'optimized' : %IsLiftoffFunction(f) ? 'baseline' : 'other'") as (f: Inc) => string;
process.stdout.write(`${JSON.stringify({ baseline: tierOf(baseline), later: tierOf(later) })}\n`);
