import { afterEach, describe, expect, it } from "vitest";
import { createMemoryState } from "../../store/state/memory-state.js";
import type { StateBackend } from "../../store/state/state-backend.js";
import { routePrefix } from "../cache-layout.js";
import { createSemanticCache } from "./semantic-cache.js";

const scope = { orgId: "org_a", route: "cached", verb: "chat" };
const TTL = 60_000;

/** The unit vector along axis `i` of 16. */
const axis = (i: number): Float32Array => {
  const v = new Float32Array(16);
  v[i] = 1;
  return v;
};
const query = (i: number, signature = "") => ({ vector: axis(i), context: "ctx", signature });

const states: StateBackend[] = [];
afterEach(async () => {
  await Promise.all(states.splice(0).map((s) => s.close()));
});

/** Two replicas' semantic caches over one shared state. */
function replicas() {
  const state = createMemoryState();
  states.push(state);
  return { state, a: createSemanticCache({ state }), b: createSemanticCache({ state }) };
}

describe("semantic cache", () => {
  it("matches only a prompt with the same numbers and negations (signature), however close the vectors", async () => {
    const { a, b } = replicas();
    await a.add(scope, query(0, "n:3"), "cache:org_a:cached:e1", TTL);
    expect(await b.lookup(scope, query(0, "n:4"), 0.9)).toBeUndefined();
    expect(await b.lookup(scope, query(0, "n:3"), 0.9)).toMatchObject({ entryKey: "cache:org_a:cached:e1" });
  });

  it("never matches across tenants, routes or verbs", async () => {
    const { a, b } = replicas();
    await a.add(scope, query(0), "cache:org_a:cached:e1", TTL);
    expect(await b.lookup({ ...scope, orgId: "org_b" }, query(0), 0.9)).toBeUndefined();
    expect(await b.lookup({ ...scope, route: "other" }, query(0), 0.9)).toBeUndefined();
    expect(await b.lookup({ ...scope, verb: "summarize" }, query(0), 0.9)).toBeUndefined();
  });

  it("starts over after a purge set the shared ring back, finding entries written since on every replica", async () => {
    const { state, a, b } = replicas();
    await a.add(scope, query(0), "cache:org_a:cached:e1", TTL);
    await a.add(scope, query(1), "cache:org_a:cached:e2", TTL);
    expect(await b.lookup(scope, query(1), 0.9)).toMatchObject({ entryKey: "cache:org_a:cached:e2" });
    await state.deleteByPrefix(routePrefix(scope.orgId, scope.route));
    await a.add(scope, query(2), "cache:org_a:cached:e3", TTL);
    expect(await b.lookup(scope, query(2), 0.9)).toMatchObject({ entryKey: "cache:org_a:cached:e3" });
    expect(await b.lookup(scope, query(0), 0.9)).toBeUndefined();
  });

  it("reads a slot again, on a later lookup, while it still holds the entry of an earlier lap of the ring", async () => {
    const shared = createMemoryState();
    states.push(shared);
    let hold: Promise<void> | undefined;
    let release = (): void => {};
    // The writer's slot write lands late: its counter is already incremented when the reader syncs.
    const slow: StateBackend = {
      ...shared,
      set: async (key, value, ttlMs) => {
        if (hold !== undefined) await hold;
        return shared.set(key, value, ttlMs);
      },
    };
    const writer = createSemanticCache({ state: slow }, { ringSize: 2 });
    const reader = createSemanticCache({ state: shared }, { ringSize: 2 });
    await writer.add(scope, query(0), "cache:org_a:cached:e0", TTL);
    await writer.add(scope, query(1), "cache:org_a:cached:e1", TTL);
    expect(await reader.lookup(scope, query(1), 0.9)).toMatchObject({ entryKey: "cache:org_a:cached:e1" });
    hold = new Promise((resolve) => (release = resolve));
    const adding = writer.add(scope, query(2), "cache:org_a:cached:e2", TTL);
    await new Promise((resolve) => setTimeout(resolve, 5));
    // Slot 0 still holds entry 0: not the entry 2 the counter announces.
    expect(await reader.lookup(scope, query(2), 0.9)).toBeUndefined();
    release();
    await adding;
    expect(await reader.lookup(scope, query(2), 0.9)).toMatchObject({ entryKey: "cache:org_a:cached:e2" });
  });
});
