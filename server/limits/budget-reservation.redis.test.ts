import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll } from "vitest";
import { requireEnv } from "../../test/support/require-env.js";
import { createRedisState } from "../store/state/redis-state.js";
import type { StateBackend } from "../store/state/state-backend.js";
import { runBudgetReservationContract } from "./budget-reservation.contract.js";
import { redisKeySpace } from "./redis-key-space.testing.js";

const url = requireEnv("REDIS_URL");
/** Unique per run, so parallel files and earlier runs never see each other's keys. */
const runPrefix = `sbtest:limits:${randomBytes(6).toString("hex")}:`;
let admin: Redis;
let instance = 0;

beforeAll(() => {
  admin = new Redis(url);
});

afterAll(async () => {
  await redisKeySpace(admin, runPrefix).clear();
  await admin.quit();
});

runBudgetReservationContract("redis", () => {
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
