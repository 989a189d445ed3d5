import { afterEach, describe, expect, it } from "vitest";
import { emptyUsage } from "../providers/model.js";
import { createMemoryState } from "../store/state/memory-state.js";
import type { StateBackend } from "../store/state/state-backend.js";
import type { CacheEntry } from "./cache-entry.js";
import { createResponseCache, purgePrefix } from "./response-cache.js";

const HASH = "ab".repeat(32);
const scope = { orgId: "org_a", route: "cached" };

const entry = (storedAt: number, text = "Paris"): CacheEntry => ({
  kind: "chat",
  response: { text, toolCalls: [], finishReason: "stop", usage: emptyUsage(false), model: "m" },
  storedAt,
  provider: "openai",
  model: "m",
  costMicrosUsd: 120n,
});

const states: StateBackend[] = [];
afterEach(async () => {
  await Promise.all(states.splice(0).map((s) => s.close()));
});

function setup(over: Partial<StateBackend> = {}) {
  const clock = { t: 1_000_000 };
  const state = createMemoryState({ now: () => clock.t });
  states.push(state);
  const errors: string[] = [];
  const cache = createResponseCache({ state: { ...state, ...over }, now: () => clock.t, onError: (op) => errors.push(op) }, { cooldownMs: 500 });
  return { clock, state, cache, errors };
}

describe("response cache", () => {
  it("serves an entry exactly max-age old, and misses one a millisecond older", async () => {
    const { clock, cache } = setup();
    await cache.store(scope, HASH, entry(clock.t), 60_000);
    clock.t += 1_000;
    expect((await cache.lookup(scope, HASH, 1_000)).status).toBe("hit");
    clock.t += 1;
    expect((await cache.lookup(scope, HASH, 1_000)).status).toBe("miss");
    // Without a max age the entry lives as long as its TTL.
    expect((await cache.lookup(scope, HASH)).status).toBe("hit");
  });

  it("writes every entry with the route's TTL: gone once it has passed", async () => {
    const { clock, cache } = setup();
    await cache.store(scope, HASH, entry(clock.t), 60_000);
    clock.t += 59_999;
    expect((await cache.lookup(scope, HASH)).status).toBe("hit");
    clock.t += 1;
    expect((await cache.lookup(scope, HASH)).status).toBe("miss");
  });

  it("never serves one tenant's or one route's entry to another", async () => {
    const { clock, cache } = setup();
    await cache.store(scope, HASH, entry(clock.t), 60_000);
    expect((await cache.lookup({ orgId: "org_b", route: "cached" }, HASH)).status).toBe("miss");
    expect((await cache.lookup({ orgId: "org_a", route: "other" }, HASH)).status).toBe("miss");
    const hit = await cache.lookup(scope, HASH);
    expect(hit).toMatchObject({ status: "hit", entry: { response: { text: "Paris" }, costMicrosUsd: 120n } });
  });

  it("after a failed lookup, skips the backend for the cooldown and uses it again once it has passed", async () => {
    let gets = 0;
    let failing = true;
    const { clock, cache, state, errors } = setup({
      get: (key) => {
        gets++;
        return failing ? Promise.reject(new Error("redis down")) : state.get(key);
      },
    });
    expect((await cache.lookup(scope, HASH)).status).toBe("unavailable");
    expect(errors).toEqual(["lookup"]);
    failing = false;
    clock.t += 499;
    expect(cache.available()).toBe(false);
    expect((await cache.lookup(scope, HASH)).status).toBe("unavailable");
    expect(await cache.read(`cache:${scope.orgId}:${scope.route}:${HASH}`)).toBeUndefined();
    expect(await cache.store(scope, HASH, entry(clock.t), 60_000)).toBe(0);
    expect(gets).toBe(1);
    clock.t += 1;
    expect(cache.available()).toBe(true);
    expect((await cache.lookup(scope, HASH)).status).toBe("miss");
    expect(gets).toBe(2);
  });

  it("uses the backend again once the cooldown has run, even when the clock stepped back during it", async () => {
    let failing = true;
    const { clock, cache, state } = setup({ get: (key) => (failing ? Promise.reject(new Error("redis down")) : state.get(key)) });
    expect((await cache.lookup(scope, HASH)).status).toBe("unavailable");
    failing = false;
    clock.t -= 60_000; // NTP steps the clock back a minute: the cooldown now reads as ending a minute off
    clock.t += 500;
    expect(cache.available()).toBe(true);
    expect((await cache.lookup(scope, HASH)).status).toBe("miss");
  });

  it("starts the cooldown when a store or a read fails, and reports the bytes a store wrote", async () => {
    let failing = true;
    const { clock, cache, state, errors } = setup({
      set: (key, value, ttlMs) => (failing ? Promise.reject(new Error("redis down")) : state.set(key, value, ttlMs)),
      get: (key) => (failing ? Promise.reject(new Error("redis down")) : state.get(key)),
    });
    expect(await cache.store(scope, HASH, entry(clock.t), 60_000)).toBe(0);
    expect(errors).toEqual(["store"]);
    expect(cache.available()).toBe(false);
    clock.t += 500;
    expect(await cache.read("cache:org_a:cached:x")).toBeUndefined();
    expect(errors).toEqual(["store", "read"]);
    expect(cache.available()).toBe(false);
    clock.t += 500;
    failing = false;
    expect(await cache.store(scope, HASH, entry(clock.t), 60_000)).toBeGreaterThan(0);
  });

  it("stores nothing over maxEntryBytes (no failure, no cooldown): 1 MiB by default, whatever the answer's kind", async () => {
    const clock = { t: 1_000_000 };
    const state = createMemoryState({ now: () => clock.t });
    states.push(state);
    const errors: string[] = [];
    const small = createResponseCache({ state, now: () => clock.t, onError: (op) => errors.push(op) }, { maxEntryBytes: 400 });
    expect(await small.store(scope, HASH, entry(clock.t, "x".repeat(400)), 60_000)).toBe(0);
    expect((await small.lookup(scope, HASH)).status).toBe("miss");
    expect(await small.store(scope, HASH, entry(clock.t), 60_000)).toBeGreaterThan(0);
    expect([errors, small.available()]).toEqual([[], true]);
    const byDefault = createResponseCache({ state, now: () => clock.t });
    // 60 vectors of 1,536 values, ≈ 22 bytes each as JSON: over 1 MiB. 20 are not.
    const vectors = (n: number) => Array.from({ length: n }, (_, j) => Array.from({ length: 1536 }, (_, i) => Math.sin(i + j + 1) / 37));
    const embeddings = (n: number): CacheEntry => ({ kind: "embed", response: { vectors: vectors(n), usage: emptyUsage(false), model: "e" }, storedAt: clock.t, provider: "openai", model: "e", costMicrosUsd: 1n });
    expect(await byDefault.store(scope, HASH, embeddings(60), 60_000)).toBe(0);
    expect(await byDefault.store(scope, HASH, embeddings(20), 60_000)).toBeGreaterThan(0);
  });
});

describe("purgePrefix", () => {
  it("names everything, a tenant, a tenant's route, or its keys with a hex prefix", () => {
    expect(purgePrefix({ all: true })).toBe("cache:");
    expect(purgePrefix({ orgId: "org_a" })).toBe("cache:org_a:");
    expect(purgePrefix({ orgId: "org_a", route: "r" })).toBe("cache:org_a:r:");
    expect(purgePrefix({ orgId: "org_a", route: "r", keyPrefix: "" })).toBe("cache:org_a:r:");
    expect(purgePrefix({ orgId: "org_a", route: "r", keyPrefix: "ab" })).toBe("cache:org_a:r:ab");
  });
});
