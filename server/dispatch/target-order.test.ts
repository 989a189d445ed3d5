import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { orderTargets } from "./target-order.js";
import { seededRandom } from "./testing/harness.js";

describe("orderTargets", () => {
  it("is a permutation that respects priority groups", () => {
    const target = fc.record({ priority: fc.integer({ min: 0, max: 3 }), weight: fc.integer({ min: 0, max: 10 }) });
    fc.assert(
      fc.property(fc.array(target, { maxLength: 12 }), fc.integer(), (targets, seed) => {
        const order = orderTargets(targets, seededRandom(seed));
        expect([...order].sort((a, b) => a - b)).toEqual(targets.map((_, i) => i));
        const priorities = order.map((i) => targets[i]?.priority ?? -1);
        expect(priorities).toEqual([...priorities].sort((a, b) => a - b));
        // Within a priority, zero-weight targets come after weighted ones.
        for (let k = 1; k < order.length; k++) {
          const prev = targets[order[k - 1] ?? 0];
          const cur = targets[order[k] ?? 0];
          if (prev && cur && prev.priority === cur.priority && prev.weight === 0) expect(cur.weight).toBe(0);
        }
      }),
    );
  });
  it("picks first by weight within the first priority", () => {
    const random = seededRandom(7);
    const targets = [
      { priority: 0, weight: 3 },
      { priority: 0, weight: 1 },
      { priority: 1, weight: 100 },
    ];
    const first = [0, 0, 0];
    for (let i = 0; i < 4_000; i++) first[orderTargets(targets, random)[0] ?? 2]!++;
    expect(first[2]).toBe(0);
    expect((first[0] ?? 0) / 4_000).toBeGreaterThan(0.72);
    expect((first[0] ?? 0) / 4_000).toBeLessThan(0.78);
  });
});
