import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { mapWithConcurrency } from "./bounded-map.js";

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("mapWithConcurrency", () => {
  it("property: keeps input order and never has more than `limit` calls in flight", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 12 }), fc.integer({ min: 1, max: 5 }), async (delays, limit) => {
        let inFlight = 0;
        let peak = 0;
        const out = await mapWithConcurrency(delays, limit, async (d, i) => {
          peak = Math.max(peak, ++inFlight);
          await tick(d);
          inFlight--;
          return `${i}:${d}`;
        });
        expect(out).toEqual(delays.map((d, i) => `${i}:${d}`));
        expect(peak).toBeLessThanOrEqual(limit);
        if (delays.length > 0) expect(peak).toBe(Math.min(limit, delays.length));
      }),
      { numRuns: 40 },
    );
  });

  it("starts no item after the first failure and throws it once the calls in flight have settled", async () => {
    const started: number[] = [];
    let settled = 0;
    const boom = new Error("boom");
    const err = await mapWithConcurrency([0, 1, 2, 3, 4, 5], 2, async (i) => {
      started.push(i);
      if (i === 1) throw boom;
      await tick(5);
      settled++;
      return i;
    }).catch((e: unknown) => e);
    expect(err).toBe(boom);
    // Item 0 was in flight when item 1 failed; nothing after item 1 started.
    expect(started).toEqual([0, 1]);
    expect(settled).toBe(1);
  });
});
