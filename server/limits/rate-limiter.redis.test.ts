import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireEnv } from "../../test/support/require-env.js";
import { createRedisState } from "../store/state/redis-state.js";
import type { StateBackend } from "../store/state/state-backend.js";
import { runRateLimiterContract } from "./rate-limiter.contract.js";
import { createRateLimiter } from "./rate-limiter.js";
import { redisKeySpace } from "./redis-key-space.testing.js";

const url = requireEnv("REDIS_URL");
/** Unique per run, so parallel files and earlier runs never see each other's keys. */
const runPrefix = `sbtest:ratelimit:${randomBytes(6).toString("hex")}:`;
let admin: Redis;
let instance = 0;

beforeAll(() => {
  admin = new Redis(url);
});

afterAll(async () => {
  await redisKeySpace(admin, runPrefix).clear();
  await admin.quit();
});

runRateLimiterContract("redis", () => {
  const keys = redisKeySpace(admin, `${runPrefix}${instance++}:`);
  const clients: StateBackend[] = [];
  return {
    connect() {
      // A generous command timeout: the suite checks semantics, not latency, on a busy machine.
      const client = createRedisState({ url, keyPrefix: keys.prefix, commandTimeoutMs: 2000 });
      clients.push(client);
      return client;
    },
    ttls: () => keys.ttls(),
    async dispose() {
      await Promise.all(clients.map((c) => c.close()));
      await keys.clear();
    },
  };
});

describe("createRateLimiter on Redis's own clock", () => {
  it("admits exactly the limit across two replicas that bring no clock of their own (P5)", async () => {
    const keys = redisKeySpace(admin, `${runPrefix}server-clock:`);
    const replicas = [0, 1].map(() => createRedisState({ url, keyPrefix: keys.prefix, commandTimeoutMs: 2000 }));
    try {
      const [a, b] = replicas.map((state) => createRateLimiter({ state }));
      const rule = { id: "orgs/acme/rate-limits/burst", level: "org", requestsPerMinute: 25 } as const;
      const outcomes = await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? a! : b!).check({ tenant: "org-acme", rules: [rule] })));
      expect(outcomes.filter((o) => o.allowed)).toHaveLength(25);
      for (const [key, ttl] of await keys.ttls()) expect(ttl, key).toBeGreaterThan(0);
    } finally {
      await Promise.all(replicas.map((r) => r.close()));
      await keys.clear();
    }
  });
});
