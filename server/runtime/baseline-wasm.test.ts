import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { wasmTierChosen } from "./baseline-wasm.js";

const run = promisify(execFile);
const child = fileURLToPath(new URL("./baseline-wasm.child.ts", import.meta.url));

describe("withBaselineWasm", () => {
  it("keeps what loads inside it on Liftoff, and lets modules compiled after it be optimised", async () => {
    const { stdout } = await run(process.execPath, ["--allow-natives-syntax", "--import", "tsx", child], { env: { ...process.env, NODE_OPTIONS: "" } });
    expect(JSON.parse(stdout)).toEqual({ baseline: "baseline", later: "optimized" });
  }, 30_000);

  it("leaves the tier alone when the process's own flags chose one", async () => {
    const { stdout } = await run(process.execPath, ["--allow-natives-syntax", "--no-wasm-dynamic-tiering", "--import", "tsx", child], { env: { ...process.env, NODE_OPTIONS: "" } });
    // Dynamic tiering off on the command line: V8 optimises every function of every module up
    // front, the first one too, which it would not have had `--liftoff-only` been set around it.
    expect(JSON.parse(stdout)).toEqual({ baseline: "optimized", later: "optimized" });
  }, 30_000);
});

describe("wasmTierChosen", () => {
  it("sees tier flags on the command line or in NODE_OPTIONS, in either spelling", () => {
    expect(wasmTierChosen([], undefined)).toBe(false);
    expect(wasmTierChosen(["--enable-source-maps", "--max-semi-space-size=32"], "--max-old-space-size=1024")).toBe(false);
    expect(wasmTierChosen(["--liftoff-only"], undefined)).toBe(true);
    expect(wasmTierChosen(["--no-liftoff"], undefined)).toBe(true);
    expect(wasmTierChosen([], "--max-old-space-size=512 --wasm_dynamic_tiering")).toBe(true);
    expect(wasmTierChosen(["--no-wasm-tier-up"], "")).toBe(true);
  });
});
