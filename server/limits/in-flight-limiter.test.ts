import { describe, expect, it } from "vitest";
import { createInFlightLimiter, type InFlightRelease } from "./in-flight-limiter.js";

const take = (result: ReturnType<ReturnType<typeof createInFlightLimiter>["tryAcquire"]>): InFlightRelease => {
  if ("refused" in result) throw new Error(`refused: ${JSON.stringify(result.refused)}`);
  return result.release;
};

describe("in-flight limiter", () => {
  it("refuses a key at its cap while other keys still get in, then the replica at its cap", () => {
    const limiter = createInFlightLimiter({ maxInFlight: 4, maxInFlightPerKey: 2 });
    const a1 = take(limiter.tryAcquire("a"));
    take(limiter.tryAcquire("a"));
    expect(limiter.tryAcquire("a")).toEqual({ refused: { scope: "key", limit: 2 } });
    take(limiter.tryAcquire("b"));
    take(limiter.tryAcquire(undefined));
    expect(limiter.inFlight()).toBe(4);
    expect(limiter.tryAcquire("c")).toEqual({ refused: { scope: "replica", limit: 4 } });
    expect(limiter.tryAcquire(undefined)).toEqual({ refused: { scope: "replica", limit: 4 } });
    a1();
    expect(limiter.inFlight()).toBe(3);
    take(limiter.tryAcquire("c"));
  });

  it("releases once however often release is called, and forgets keys with nothing in flight", () => {
    const limiter = createInFlightLimiter({ maxInFlight: 10, maxInFlightPerKey: 1 });
    const releases = ["a", "b", "c"].map((k) => take(limiter.tryAcquire(k)));
    expect(limiter.keysInFlight()).toBe(3);
    for (const release of releases) {
      release();
      release();
    }
    expect(limiter.inFlight()).toBe(0);
    expect(limiter.keysInFlight()).toBe(0);
    take(limiter.tryAcquire("a"));
  });

  it("treats 0 as no cap", () => {
    const limiter = createInFlightLimiter({ maxInFlight: 0, maxInFlightPerKey: 0 });
    for (let i = 0; i < 5_000; i++) take(limiter.tryAcquire("a"));
    expect(limiter.inFlight()).toBe(5_000);
  });
});
