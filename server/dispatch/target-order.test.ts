import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createTargetLoad, type TargetLoad } from "./target-load.js";
import { LATENCY_EXPLORE_SHARE, orderTargets, orderTargetsBy, type BalanceStrategy } from "./target-order.js";
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

/** A target of model `m`, priority and weight as given. */
const t = (model: string, priority = 0, weight = 1) => ({ provider: "openai", model, credential: "credentials/openai", priority, weight });

/** Starts `n` attempts to `target` and leaves them in flight. */
function busy(load: TargetLoad, target: ReturnType<typeof t>, n: number): void {
  for (let i = 0; i < n; i++) load.begin(target);
}

/** Teaches `load` that `target` answers in `ms` (one success). */
function measured(load: TargetLoad, target: ReturnType<typeof t>, ms: number): void {
  load.end(load.begin(target), "success", ms);
}

/** How often each index comes first over `n` orderings. */
function firsts(n: number, order: () => number[], size: number): number[] {
  const counts = Array.from({ length: size }, () => 0);
  for (let i = 0; i < n; i++) counts[order()[0] ?? 0]!++;
  return counts;
}

describe("orderTargetsBy", () => {
  it("is a permutation that respects priority groups, whatever the load, for both strategies", () => {
    const target = fc.record({ model: fc.constantFrom("a", "b", "c", "d"), priority: fc.integer({ min: 0, max: 3 }), weight: fc.integer({ min: 0, max: 10 }) });
    const strategy = fc.constantFrom<BalanceStrategy>("least_busy", "latency");
    const event = fc.record({ model: fc.constantFrom("a", "b", "c", "d"), ending: fc.constantFrom("success", "failure", "superseded", "ignore", "open" as const), ms: fc.nat(5_000) });
    fc.assert(
      fc.property(fc.array(target, { maxLength: 12 }), strategy, fc.array(event, { maxLength: 20 }), fc.integer(), (specs, s, events, seed) => {
        const load = createTargetLoad();
        for (const e of events) {
          const entry = load.begin(t(e.model));
          if (e.ending !== "open") load.end(entry, e.ending, e.ms);
        }
        const targets = specs.map((x) => t(x.model, x.priority, x.weight));
        const order = orderTargetsBy(s, targets, seededRandom(seed), load);
        expect([...order].sort((a, b) => a - b)).toEqual(targets.map((_, i) => i));
        const priorities = order.map((i) => targets[i]?.priority ?? -1);
        expect(priorities).toEqual([...priorities].sort((a, b) => a - b));
        for (let k = 1; k < order.length; k++) {
          const prev = targets[order[k - 1] ?? 0];
          const cur = targets[order[k] ?? 0];
          if (prev && cur && prev.priority === cur.priority && prev.weight === 0) expect(cur.weight).toBe(0);
        }
      }),
    );
  });

  describe("least_busy", () => {
    it("puts the target with the fewest attempts in flight first, then the next fewest", () => {
      const load = createTargetLoad();
      const targets = [t("a"), t("b"), t("c"), t("z", 1)];
      busy(load, targets[0]!, 3);
      busy(load, targets[2]!, 1);
      // z is idle but a fallback: priority still comes first.
      const random = seededRandom(3);
      for (let i = 0; i < 50; i++) expect(orderTargetsBy("least_busy", targets, random, load)).toEqual([1, 2, 0, 3]);
    });
    it("breaks ties by weight", () => {
      const load = createTargetLoad();
      const targets = [t("a", 0, 3), t("b", 0, 1), t("c", 0, 5)];
      busy(load, targets[2]!, 1);
      const counts = firsts(4_000, () => orderTargetsBy("least_busy", targets, random, load), 3);
      expect(counts[2]).toBe(0);
      expect(counts[0]! / 4_000).toBeGreaterThan(0.72);
      expect(counts[0]! / 4_000).toBeLessThan(0.78);
    });
    it("counts an attempt whatever route made it, until it ends", () => {
      const load = createTargetLoad();
      // Another route's attempt to a: a is busy here too, however much more it weighs.
      const entry = load.begin(t("a"));
      const targets = [t("a", 0, 1000), t("b")];
      const random = seededRandom(9);
      expect(firsts(200, () => orderTargetsBy("least_busy", targets, random, load), 2)[1]).toBe(200);
      load.end(entry, "success", 10);
      expect(load.peek(t("a"))?.inFlight).toBe(0);
      expect(firsts(200, () => orderTargetsBy("least_busy", targets, random, load), 2)[0]).toBeGreaterThan(190);
    });
  });

  describe("least_busy with a failing target", () => {
    it("puts a target whose last attempt failed after the others, however idle, and still tries it now and then", () => {
      const load = createTargetLoad();
      // a fails at once: never busy. b is busy with two attempts.
      load.end(load.begin(t("a")), "failure", 1);
      load.begin(t("b"));
      load.begin(t("b"));
      const targets = [t("a"), t("b")];
      const random = seededRandom(12);
      const counts = firsts(4_000, () => orderTargetsBy("least_busy", targets, random, load), 2);
      // First only when exploring (1 in 20, then half the time by weight): about 100 of 4,000.
      expect(counts[0]).toBeGreaterThan(40);
      expect(counts[0]).toBeLessThan(200);
      // A success clears it: the idle target is first again.
      load.end(load.begin(t("a")), "success", 5);
      expect(firsts(200, () => orderTargetsBy("least_busy", targets, random, load), 2)[0]).toBe(200);
    });
  });

  describe("latency", () => {
    const noExplore = (r: () => number) => () => {
      // Every draw at or above the exploration share: ordering only, never exploring; the
      // weighted shuffle still gets varied draws.
      return LATENCY_EXPLORE_SHARE + r() * (1 - LATENCY_EXPLORE_SHARE);
    };
    it("puts the fastest measured target first, then by latency", () => {
      const load = createTargetLoad();
      const targets = [t("slow"), t("fast"), t("mid"), t("fallback", 1)];
      measured(load, targets[0]!, 900);
      measured(load, targets[1]!, 100);
      measured(load, targets[2]!, 400);
      measured(load, targets[3]!, 1);
      const random = noExplore(seededRandom(4));
      for (let i = 0; i < 50; i++) expect(orderTargetsBy("latency", targets, random, load)).toEqual([1, 2, 0, 3]);
    });
    it("tries a target never measured first, and one whose last attempt failed last, however fast it was", () => {
      const load = createTargetLoad();
      const targets = [t("failing"), t("measured"), t("new")];
      measured(load, targets[0]!, 10);
      load.end(load.begin(targets[0]!), "failure", 1);
      measured(load, targets[1]!, 500);
      const random = noExplore(seededRandom(5));
      expect(orderTargetsBy("latency", targets, random, load)).toEqual([2, 1, 0]);
      // A success clears the failure; the average still remembers it was fast.
      measured(load, targets[0]!, 20);
      expect(orderTargetsBy("latency", targets, random, load)).toEqual([2, 0, 1]);
    });
    it("orders a share of requests weighted random, so the slow target is still probed", () => {
      const load = createTargetLoad();
      const targets = [t("slow"), t("fast")];
      measured(load, targets[0]!, 2_000);
      measured(load, targets[1]!, 100);
      const counts = firsts(20_000, () => orderTargetsBy("latency", targets, random, load), 2);
      // Explored requests (5 %) put each of two equal-weight targets first half the time.
      const share = counts[0]! / 20_000;
      expect(share).toBeGreaterThan(LATENCY_EXPLORE_SHARE / 2 - 0.008);
      expect(share).toBeLessThan(LATENCY_EXPLORE_SHARE / 2 + 0.008);
    });
  });
});

const random = seededRandom(11);
