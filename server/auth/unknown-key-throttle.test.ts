import { describe, expect, it } from "vitest";
import { createUnknownKeyThrottle } from "./unknown-key-throttle.js";

describe("unknown-key throttle", () => {
  it("lets an address start `burst` lookups, then says how long until a token is back", () => {
    const throttle = createUnknownKeyThrottle({ burst: 2, perMinute: 60, maxAddresses: 10 });
    expect([throttle.take("a", 0), throttle.take("a", 0), throttle.take("a", 0)]).toEqual([0, 0, 1_000]);
    expect(throttle.take("a", 400)).toBe(600);
    expect(throttle.take("b", 400)).toBe(0); // another address has its own bucket
    expect(throttle.take("a", 1_000)).toBe(0);
    throttle.giveBack("a");
    expect(throttle.take("a", 1_000)).toBe(0);
    expect(throttle.take("a", 1_000)).toBe(1_000);
  });

  it("never holds more than `burst` tokens, however long an address was quiet or however many it gives back", () => {
    const throttle = createUnknownKeyThrottle({ burst: 3, perMinute: 60, maxAddresses: 10 });
    throttle.take("a", 0);
    for (let i = 0; i < 10; i++) throttle.giveBack("a");
    const taken = [0, 0, 0, 0].map(() => throttle.take("a", 3_600_000));
    expect(taken).toEqual([0, 0, 0, 1_000]);
  });

  it("tracks at most maxAddresses, forgetting the one quiet longest", () => {
    const throttle = createUnknownKeyThrottle({ burst: 1, perMinute: 1, maxAddresses: 100 });
    expect(throttle.take("flooding", 0)).toBe(0);
    for (let i = 0; i < 10_000; i++) {
      throttle.take(`10.0.${i >> 8}.${i & 255}`, 0);
      // The flooding address keeps coming back, so it stays tracked and refused.
      if (i % 50 === 0) expect(throttle.take("flooding", 0)).toBeGreaterThan(0);
    }
    expect(throttle.size).toBe(100);
  });

  it("refills nothing across a clock stepped back", () => {
    const throttle = createUnknownKeyThrottle({ burst: 1, perMinute: 60, maxAddresses: 10 });
    expect(throttle.take("a", 10_000)).toBe(0);
    expect(throttle.take("a", 5_000)).toBe(1_000);
    expect(throttle.take("a", 5_999)).toBe(1);
    expect(throttle.take("a", 6_000)).toBe(0);
  });

  it("with a burst of 0 lets everything through and tracks nothing", () => {
    const throttle = createUnknownKeyThrottle({ burst: 0, perMinute: 60, maxAddresses: 10 });
    for (let i = 0; i < 100; i++) expect(throttle.take("a", 0)).toBe(0);
    expect(throttle.size).toBe(0);
  });
});
