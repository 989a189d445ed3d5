import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireEnv } from "../../test/support/require-env.js";
import { redisKeySpace } from "../limits/redis-key-space.testing.js";
import { emptyUsage } from "../providers/model.js";
import { createRedisState } from "../store/state/redis-state.js";
import type { StateBackend } from "../store/state/state-backend.js";
import type { CacheEntry } from "./cache-entry.js";
import { createResponseCache } from "./response-cache.js";

const url = requireEnv("REDIS_URL");
/** Unique per run, so parallel files and earlier runs never see each other's keys. */
const runPrefix = `sbtest:rcache:${randomBytes(6).toString("hex")}:`;
let admin: Redis;
const clients: StateBackend[] = [];

beforeAll(() => {
  admin = new Redis(url);
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await redisKeySpace(admin, runPrefix).clear();
  await admin.quit();
});

/** An embeddings answer of `n` vectors of 1,536 dimensions, as OpenAI writes their values. */
function embeddings(n: number): CacheEntry {
  const vector = Array.from({ length: 1536 }, (_, i) => Math.sin(i + 1) / 37);
  return {
    kind: "embed",
    response: { vectors: Array.from({ length: n }, () => vector), usage: emptyUsage(false), model: "text-embedding-3-small" },
    storedAt: Date.now(),
    provider: "openai",
    model: "text-embedding-3-small",
    costMicrosUsd: 40n,
  };
}

describe("response cache on Redis", () => {
  it("stores no entry too large to write within a command timeout: the limit counters sharing the connection keep answering", async () => {
    // The gateway's one StateBackend: cache entries, rate-limit windows and budget holds share it.
    const state = createRedisState({ url, keyPrefix: `${runPrefix}0:` });
    clients.push(state);
    await state.set("warm", new Uint8Array([1]), 10_000);
    const errors: string[] = [];
    const cache = createResponseCache({ state, onError: (operation) => errors.push(operation) });
    // One 512-input batch (≈ 16 MB of JSON), stored as its answer leaves, while another call's limit is checked.
    const storing = cache.store({ orgId: "org_a", route: "emb" }, "ab".repeat(32), embeddings(512), 60_000);
    const counted = state.increment("rl:org_b", 1, 60_000);
    expect(await counted).toBe(1);
    expect(await storing).toBe(0);
    expect(errors).toEqual([]);
    expect(cache.available()).toBe(true);
    // An answer of ordinary size is stored as before.
    expect(await cache.store({ orgId: "org_a", route: "emb" }, "cd".repeat(32), embeddings(2), 60_000)).toBeGreaterThan(0);
  });
});
