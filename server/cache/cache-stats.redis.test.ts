import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireEnv } from "../../test/support/require-env.js";
import { redisKeySpace } from "../limits/redis-key-space.testing.js";
import { createRedisState } from "../store/state/redis-state.js";
import type { StateBackend } from "../store/state/state-backend.js";
import { createCacheStats } from "./cache-stats.js";

const url = requireEnv("REDIS_URL");
/** Unique per run, so parallel files and earlier runs never see each other's keys. */
const runPrefix = `sbtest:cstats:${randomBytes(6).toString("hex")}:`;
let admin: Redis;
let instance = 0;
const clients: StateBackend[] = [];
const HOUR = 3_600_000;

beforeAll(() => {
  admin = new Redis(url);
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await redisKeySpace(admin, runPrefix).clear();
  await admin.quit();
});

/** `n` replicas' statistics over one Redis key space, each with its own connection; calls counted. */
function replicas(n: number) {
  const keyPrefix = `${runPrefix}${instance++}:`;
  const calls: string[] = [];
  return Array.from({ length: n }, () => {
    const inner = createRedisState({ url, keyPrefix, commandTimeoutMs: 2000 });
    clients.push(inner);
    const state = new Proxy(inner, {
      get(target, name) {
        const value = Reflect.get(target, name) as unknown;
        return typeof value === "function" ? (...args: unknown[]) => (calls.push(String(name)), (value as (...a: unknown[]) => unknown).apply(target, args)) : value;
      },
    });
    return { stats: createCacheStats({ state }, { flushIntervalMs: HOUR }), calls };
  });
}

describe("createCacheStats over Redis", () => {
  it("costs no round trip per event, and a read right after is exact on the same replica", async () => {
    const [a] = replicas(1);
    a!.stats.record("org_1", "r", "miss");
    a!.stats.stored("org_1", "r", 300);
    a!.stats.record("org_1", "r", "hit_exact", 120n);
    a!.stats.record("org_1", "r", "hit_semantic", 80n);
    a!.stats.record("org_1", "other", "bypass");
    expect(a!.calls).toEqual([]);
    expect(await a!.stats.read("org_1", "r")).toMatchObject({ exactHits: 1, semanticHits: 1, misses: 1, bypasses: 0, savedMicrosUsd: 200, entries: 1, bytes: 300 });
    expect(a!.calls.filter((c) => c === "incrementMany")).toHaveLength(1);
    expect(await a!.stats.read("org_1")).toMatchObject({ exactHits: 1, misses: 1, bypasses: 1 });
    expect(await a!.stats.read()).toMatchObject({ exactHits: 1, misses: 1, bypasses: 1, hitRatio: 2 / 3 });
    await a!.stats.close();
  });

  it("shows another replica's counts once it has flushed", async () => {
    const [a, b] = replicas(2);
    a!.stats.record("org_1", "r", "miss");
    a!.stats.record("org_1", "r", "miss");
    b!.stats.record("org_1", "r", "hit_exact", 10n);
    expect(await b!.stats.read("org_1", "r")).toMatchObject({ misses: 0, exactHits: 1 });
    await a!.stats.flush();
    expect(await b!.stats.read("org_1", "r")).toMatchObject({ misses: 2, exactHits: 1, savedMicrosUsd: 10 });
    a!.stats.record("org_1", "r", "miss");
    await a!.stats.close(); // shutdown writes what is pending
    expect(await b!.stats.read("org_1", "r")).toMatchObject({ misses: 3, exactHits: 1 });
    await b!.stats.close();
  });

  it("subtracts purged entries after counting this replica's pending ones", async () => {
    const [a] = replicas(1);
    for (let i = 0; i < 4; i++) a!.stats.stored("org_1", "r", 100);
    await a!.stats.purged("org_1", "r", 3);
    expect(await a!.stats.read("org_1", "r")).toMatchObject({ entries: 1, bytes: 100 });
    expect(await a!.stats.read()).toMatchObject({ entries: 1, bytes: 100 });
    await a!.stats.close();
  });

  it("keeps its counters with a TTL (P6)", async () => {
    const [a] = replicas(1);
    a!.stats.record("org_1", "r", "miss");
    await a!.stats.flush();
    const ttls = [...(await redisKeySpace(admin, `${runPrefix}${instance - 1}:`).ttls()).values()];
    expect(ttls).toHaveLength(3);
    for (const ttl of ttls) expect(ttl).toBeGreaterThan(14 * 24 * HOUR);
    await a!.stats.close();
  });
});
