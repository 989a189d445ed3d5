import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { Redis } from "ioredis";
import { afterAll, describe, it } from "vitest";
import { requireEnv } from "../../test/support/require-env.js";
import { createMemoryState } from "../store/state/memory-state.js";
import { createRedisState } from "../store/state/redis-state.js";
import type { StateBackend } from "../store/state/state-backend.js";
import { runSweepModel, sweepOpsArbitrary } from "./budget-sweep.model.js";
import { redisKeySpace } from "./redis-key-space.testing.js";

describe("budget holds vs the sweeper of dead replicas (property)", () => {
  it("memory: the books stay exact whatever order reserve, extend, settle and sweep steps run in (fc.scheduler)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), sweepOpsArbitrary, async (s, steps) => {
        const state = createMemoryState();
        const scheduled = (inner: StateBackend): StateBackend => ({
          ...inner,
          reserveHold: s.scheduleFunction(inner.reserveHold),
          settleHold: s.scheduleFunction(inner.settleHold),
          releaseHolds: s.scheduleFunction(inner.releaseHolds),
        });
        try {
          await s.waitFor(runSweepModel(state, steps, scheduled));
        } finally {
          await state.close();
        }
      }),
      { numRuns: 150 },
    );
  });

  const url = requireEnv("REDIS_URL");
  const prefix = `sbtest:sweep:${randomBytes(6).toString("hex")}:`;
  const admin = new Redis(url);
  afterAll(async () => {
    await redisKeySpace(admin, prefix).clear();
    await admin.quit();
  });

  it("redis: the books stay exact with lost replies, dead owners and sweeps", async () => {
    const state = createRedisState({ url, keyPrefix: prefix, commandTimeoutMs: 2000 });
    try {
      await fc.assert(fc.asyncProperty(sweepOpsArbitrary, (steps) => runSweepModel(state, steps)), { numRuns: 25 });
      const ttls = await redisKeySpace(admin, prefix).ttls();
      for (const [key, ttl] of ttls) if (ttl <= 0) throw new Error(`${key} has no TTL (${ttl})`);
    } finally {
      await state.close();
    }
  });
});
