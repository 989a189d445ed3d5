import { describe, expect, it } from "vitest";
import { fullCollector } from "../runtime/startup-garbage.js";
import { createMetrics } from "./metrics.js";

const gc = fullCollector();

const MB = 2 ** 20;

/** A full collection, then the gauge once the GC observer has been told of it. */
async function retainedAfterGc(render: () => Promise<string>): Promise<number> {
  gc();
  await new Promise((r) => setTimeout(r, 50));
  const line = (await render()).split("\n").find((l) => l.startsWith("switchboard_heap_retained_bytes "));
  return Number(line?.split(" ")[1]);
}

describe("switchboard_heap_retained_bytes", () => {
  it("follows what the live objects take after a full collection, up and back down", async () => {
    const metrics = createMetrics();
    const before = await retainedAfterGc(() => metrics.render());
    expect(before).toBeGreaterThan(MB);
    // ≈ 40 MB of small live objects (no large-object space shortcut), then let them go.
    let held: Array<{ n: number; s: string }> | undefined = Array.from({ length: 500_000 }, (_, n) => ({ n, s: `x${n}` }));
    const holding = await retainedAfterGc(() => metrics.render());
    expect(held.length).toBe(500_000);
    held = undefined;
    const after = await retainedAfterGc(() => metrics.render());
    expect(holding - before).toBeGreaterThan(15 * MB);
    expect(holding - after).toBeGreaterThan(15 * MB);
    expect(Math.abs(after - before)).toBeLessThan(5 * MB);
  });

  it("is not exported without the process metrics", async () => {
    expect(await createMetrics({ processMetrics: false }).render()).not.toContain("switchboard_heap_retained_bytes");
  });
});
