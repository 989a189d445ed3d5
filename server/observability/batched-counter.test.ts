import fc from "fast-check";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { createBatchedCounter } from "./batched-counter.js";

/** The counter's series as `labels → value`, read the way a scrape reads them. */
async function scrape(registry: Registry): Promise<Map<string, number>> {
  const [metric] = await registry.getMetricsAsJSON();
  const out = new Map<string, number>();
  for (const v of (metric as { values: { labels: Record<string, string>; value: number }[] }).values) out.set(`${v.labels.route}/${v.labels.code}`, v.value);
  return out;
}

describe("createBatchedCounter", () => {
  it("shows at every scrape exactly the increments made before it, per series", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.record({ route: fc.constantFrom("a", "b"), code: fc.constantFrom("ok", "internal"), n: fc.integer({ min: 1, max: 1000 }) }), fc.constant("scrape" as const)), { maxLength: 60 }),
        async (ops) => {
          const registry = new Registry();
          const counter = createBatchedCounter({ name: "t_total", help: "t", labelNames: ["route", "code"], registers: [registry] });
          const expected = new Map<string, number>();
          for (const op of [...ops, "scrape" as const]) {
            if (op === "scrape") {
              expect(await scrape(registry)).toEqual(expected);
              continue;
            }
            counter.inc([op.route, op.code], op.n);
            expected.set(`${op.route}/${op.code}`, (expected.get(`${op.route}/${op.code}`) ?? 0) + op.n);
          }
        },
      ),
      { numRuns: 50 },
    );
  });

  it("renders the exposition text prom-client would, and counts 1 by default", async () => {
    const registry = new Registry();
    const counter = createBatchedCounter({ name: "calls_total", help: "Calls.", labelNames: ["route", "code"], registers: [registry] });
    counter.inc(["r", "ok"]);
    counter.inc(["r", "ok"]);
    expect(await registry.metrics()).toBe('# HELP calls_total Calls.\n# TYPE calls_total counter\ncalls_total{route="r",code="ok"} 2\n');
  });

  it("refuses label values that do not match its label names", () => {
    const counter = createBatchedCounter({ name: "x_total", help: "x", labelNames: ["route", "code"], registers: [new Registry()] });
    expect(() => counter.inc(["only-one"])).toThrow(/1 label values for 2 labels/);
  });
});
