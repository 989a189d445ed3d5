import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { applyHeapGrowth } from "./heap-growth.js";

const run = promisify(execFile);

describe("applyHeapGrowth", () => {
  it("bounds the old generation to about the factor asked for, set after the process started", async () => {
    const child = fileURLToPath(new URL("./heap-growth.child.ts", import.meta.url));
    const { stdout } = await run(process.execPath, ["--expose-gc", "--import", "tsx", child, "50"]);
    const { liveBytes, peakBytes } = JSON.parse(stdout) as { liveBytes: number; peakBytes: number };
    expect(liveBytes).toBeGreaterThan(40e6);
    // 1.5× plus V8's minimum step and the garbage promoted while a full GC's marking runs
    // (measured 1.86–1.91); V8's own factor on this machine gives 4.6.
    expect(peakBytes / liveBytes).toBeLessThan(2.5);
  }, 30_000);

  it("refuses a percent that is not a non-negative integer", () => {
    expect(() => applyHeapGrowth(-1)).toThrow(RangeError);
    expect(() => applyHeapGrowth(1.5)).toThrow(RangeError);
  });
});
