import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll } from "vitest";
import { requireEnv } from "../../test/support/require-env.js";
import { createRedisState } from "../store/state/redis-state.js";
import type { StateBackend } from "../store/state/state-backend.js";
import type { StateHarness } from "./budget-reservation.contract.js";

/** Test helpers over the keys under one prefix, through an admin connection. */
export interface RedisKeySpace {
  prefix: string;
  /** PTTL of every key under the prefix, by key as the state backend names it (prefix removed). */
  ttls(): Promise<Map<string, number>>;
  /** Removes every key under the prefix. */
  clear(): Promise<void>;
}

/** The keys under `prefix` (matched literally: test prefixes hold no glob characters). */
export function redisKeySpace(admin: Redis, prefix: string): RedisKeySpace {
  const scan = async (): Promise<string[]> => {
    const keys: string[] = [];
    let cursor = "0";
    do {
      const [next, batch] = await admin.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== "0");
    return keys;
  };
  return {
    prefix,
    async ttls() {
      const keys = await scan();
      const ttls = await Promise.all(keys.map((key) => admin.pttl(key)));
      return new Map(keys.map((key, i) => [key.slice(prefix.length), ttls[i]!]));
    },
    async clear() {
      const keys = await scan();
      if (keys.length > 0) await admin.unlink(...keys);
    },
  };
}

/**
 * A state-backend contract's harnesses on the Redis at `REDIS_URL`: each harness its own key
 * prefix under one unique to this run (parallel files and earlier runs never see each other's
 * keys), every client it connected closed and its keys removed at its end, and the run's keys at
 * the file's. Call at a test file's top level (it registers the file's hooks).
 */
export function redisStateHarnesses(name: string): () => Required<StateHarness> {
  const url = requireEnv("REDIS_URL");
  const runPrefix = `sbtest:${name}:${randomBytes(6).toString("hex")}:`;
  let admin: Redis;
  let instance = 0;
  beforeAll(() => {
    admin = new Redis(url);
  });
  afterAll(async () => {
    await redisKeySpace(admin, runPrefix).clear();
    await admin.quit();
  });
  return () => {
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
  };
}
