import { describe, expect, it } from "vitest";
import { runRateLimiterContract } from "./rate-limiter.contract.js";
import { createRateLimiter } from "./rate-limiter.js";
import { redisStateHarnesses } from "./redis-key-space.testing.js";

const harnesses = redisStateHarnesses("ratelimit");

runRateLimiterContract("redis", harnesses);

describe("createRateLimiter on Redis's own clock", () => {
  it("admits exactly the limit across two replicas that bring no clock of their own (P5)", async () => {
    const harness = harnesses();
    try {
      const [a, b] = [harness.connect(), harness.connect()].map((state) => createRateLimiter({ state }));
      const rule = { id: "orgs/acme/rate-limits/burst", level: "org", requestsPerMinute: 25 } as const;
      const outcomes = await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? a! : b!).check({ tenant: "org-acme", rules: [rule] })));
      expect(outcomes.filter((o) => o.allowed)).toHaveLength(25);
      for (const [key, ttl] of await harness.ttls()) expect(ttl, key).toBeGreaterThan(0);
    } finally {
      await harness.dispose();
    }
  });
});
