import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireEnv } from "../../../test/support/require-env.js";
import { redisKeySpace } from "../../limits/redis-key-space.testing.js";
import { createMemoryState } from "./memory-state.js";
import { createRedisState } from "./redis-state.js";
import type { StateBackend } from "./state-backend.js";

/**
 * Differential property: the in-process backend and the Redis backend, given the same random
 * sequence of operations, answer every one the same and leave the same state; Redis never holds
 * a key without a TTL (P6).
 */
const url = requireEnv("REDIS_URL");
const runPrefix = `sbdiff:${randomBytes(6).toString("hex")}:`;
let admin: Redis;
let run = 0;
const stats: Record<string, number> = {};
beforeAll(() => {
  admin = new Redis(url);
});
afterAll(async () => {
  await redisKeySpace(admin, runPrefix).clear();
  await admin.quit();
});

const TTL = 600_000;
const W = 60_000;
const counter = (i: number) => `c:{t}:${i}`;
const windowKey = (i: number) => `w:{t}:${i}`;
const marker = (i: number) => `m:{t}:${i}`;
const seedKey = (i: number) => `s:{t}:${i}`;
const INDEX = "idx:{t}";

type Op =
  | { kind: "increment"; key: number; delta: number }
  | { kind: "incrementMany"; entries: { key: number; delta: number }[] }
  | { kind: "reserve"; entries: { key: number; amount: number; limit: number }[] }
  | { kind: "release"; entries: { key: number; amount: number }[] }
  | { kind: "hitWindows"; entries: { key: number; cost: number; limit: number }[]; advance: number }
  | { kind: "hitBurst"; checks: { key: number; cost: number; limit: number }[][]; advance: number }
  | { kind: "unhit"; entries: { key: number; cost: number }[]; back: number }
  | { kind: "reserveHold"; hold: number; seq: number; counters: { key: number; amount: number; limit: number }[]; owner: number; requires: number[] }
  | { kind: "settleHold"; hold: number; actual: number; counters: number[] }
  | { kind: "releaseHolds"; holds: { hold: number; owner: number; counters: number[] }[] }
  | { kind: "seed"; key: number };

const small = fc.integer({ min: 0, max: 3 });
const distinct = <T extends { key: number }>(arb: fc.Arbitrary<T>) => fc.uniqueArray(arb, { minLength: 1, maxLength: 3, selector: (e) => e.key });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("increment" as const), key: small, delta: fc.integer({ min: -50, max: 50 }) }),
  fc.record({ kind: fc.constant("incrementMany" as const), entries: fc.array(fc.record({ key: small, delta: fc.integer({ min: -50, max: 50 }) }), { maxLength: 3 }) }),
  fc.record({ kind: fc.constant("reserve" as const), entries: fc.array(fc.record({ key: small, amount: fc.integer({ min: 0, max: 100 }), limit: fc.integer({ min: -10, max: 300 }) }), { minLength: 1, maxLength: 3 }) }),
  fc.record({ kind: fc.constant("release" as const), entries: fc.array(fc.record({ key: small, amount: fc.integer({ min: 0, max: 100 }) }), { maxLength: 3 }) }),
  fc.record({ kind: fc.constant("hitWindows" as const), entries: distinct(fc.record({ key: small, cost: fc.integer({ min: 0, max: 40 }), limit: fc.integer({ min: 0, max: 100 }) })), advance: fc.integer({ min: 0, max: 50_000 }) }),
  fc.record({
    kind: fc.constant("hitBurst" as const),
    checks: fc.array(distinct(fc.record({ key: small, cost: fc.integer({ min: 0, max: 40 }), limit: fc.integer({ min: 0, max: 100 }) })), { minLength: 2, maxLength: 4 }),
    advance: fc.integer({ min: 0, max: 50_000 }),
  }),
  fc.record({ kind: fc.constant("unhit" as const), entries: distinct(fc.record({ key: small, cost: fc.integer({ min: 0, max: 40 }) })), back: fc.integer({ min: 0, max: 2 }) }),
  fc.record({
    kind: fc.constant("reserveHold" as const),
    hold: small,
    seq: fc.integer({ min: 1, max: 3 }),
    counters: fc.array(fc.record({ key: small, amount: fc.integer({ min: 0, max: 100 }), limit: fc.integer({ min: 0, max: 300 }) }), { minLength: 1, maxLength: 3 }),
    owner: fc.integer({ min: 0, max: 1 }),
    requires: fc.uniqueArray(small, { maxLength: 2 }),
  }),
  fc.record({ kind: fc.constant("settleHold" as const), hold: small, actual: fc.integer({ min: 0, max: 150 }), counters: fc.uniqueArray(small, { minLength: 1, maxLength: 3 }) }),
  fc.record({
    kind: fc.constant("releaseHolds" as const),
    holds: fc.uniqueArray(fc.record({ hold: small, owner: fc.integer({ min: 0, max: 1 }), counters: fc.uniqueArray(small, { minLength: 1, maxLength: 4 }) }), { minLength: 1, maxLength: 2, selector: (h) => h.hold }),
  }),
  fc.record({ kind: fc.constant("seed" as const), key: small }),
);

/** Runs one op; resolves what the caller sees (an error as "error"). */
async function apply(state: StateBackend, op: Op, clock: { now: number }): Promise<unknown> {
  const settled = async (p: Promise<unknown>) => p.then((v) => normalize(v), () => "error");
  switch (op.kind) {
    case "increment":
      return settled(state.increment(counter(op.key), op.delta, TTL));
    case "incrementMany":
      return settled(state.incrementMany(op.entries.map((e) => ({ key: counter(e.key), delta: e.delta })), TTL));
    case "reserve":
      return settled(state.reserve(op.entries.map((e) => ({ key: counter(e.key), amount: e.amount, limit: e.limit })), TTL));
    case "release":
      return settled(state.release(op.entries.map((e) => ({ key: counter(e.key), amount: e.amount })), TTL));
    case "hitWindows":
      clock.now += op.advance;
      return settled(state.hitWindows(op.entries.map((e) => ({ key: windowKey(e.key), cost: e.cost, limit: e.limit })), W, clock.now));
    case "hitBurst": {
      clock.now += op.advance;
      // Issued in one turn: Redis batches them into one script, the memory backend runs them in order.
      const at = clock.now;
      return Promise.all(op.checks.map((check) => settled(state.hitWindows(check.map((e) => ({ key: windowKey(e.key), cost: e.cost, limit: e.limit })), W, at))));
    }
    case "unhit":
      return settled(state.unhitWindows(op.entries.map((e) => ({ key: windowKey(e.key), cost: e.cost })), W, Math.max(0, Math.floor(clock.now / W) - op.back)));
    case "reserveHold":
      return settled(
        state.reserveHold(
          {
            marker: { key: marker(op.hold), amount: 1, limit: op.seq },
            counters: op.counters.map((e) => ({ key: counter(e.key), amount: e.amount, limit: e.limit })),
            ...(op.requires.length > 0 ? { requires: op.requires.map(seedKey) } : {}),
          },
          { index: INDEX, member: `h${op.hold}`, owner: `o${op.owner}` },
          TTL,
        ),
      );
    case "settleHold":
      return settled(
        state.settleHold(
          {
            marker: marker(op.hold),
            index: INDEX,
            member: `h${op.hold}`,
            add: op.counters.map((k) => ({ key: `${counter(k)}:spent`, amount: op.actual })),
            replace: op.counters.map((k) => ({ key: counter(k), amount: op.actual })),
          },
          TTL,
        ),
      );
    case "releaseHolds":
      return settled(
        state.releaseHolds(
          INDEX,
          op.holds.map((h) => ({ member: `h${h.hold}`, owner: `o${h.owner}`, marker: marker(h.hold), keys: h.counters.map(counter) })),
          30_000,
        ),
      );
    case "seed":
      return settled(state.reserve([{ key: seedKey(op.key), amount: 1, limit: 1 }], TTL));
  }
}

/** Maps and holds in a comparable form. */
function normalize(value: unknown): unknown {
  if (value instanceof Map) return [...value.entries()].sort(([a], [b]) => String(a).localeCompare(String(b)));
  if (Array.isArray(value)) return value.map(normalize);
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalize(v)]));
  return value;
}

/** Everything observable: counters, spent counters, markers, seed markers, open holds, window counts. */
async function dump(state: StateBackend, now: number): Promise<unknown> {
  const text = async (key: string) => state.get(key).then((v) => (v === undefined ? undefined : new TextDecoder().decode(v)), () => "error");
  const out: Record<string, unknown> = {};
  for (let i = 0; i < 4; i++) {
    for (const key of [counter(i), `${counter(i)}:spent`, marker(i), seedKey(i)]) out[key] = await text(key);
  }
  out.holds = normalize((await state.openHolds(INDEX)).sort((a, b) => a.member.localeCompare(b.member)));
  // A zero-cost probe reads each window's sliding count (and writes nothing new: every backend counts 0 alike).
  for (let i = 0; i < 4; i++) out[windowKey(i)] = normalize(await state.hitWindow(windowKey(i), 0, 1_000_000, W, now).catch(() => "error"));
  return out;
}

describe("memory and Redis state backends agree (differential property)", () => {
  it("answer every op alike and end in the same state, with no immortal Redis key", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 25 }), async (ops) => {
        const prefix = `${runPrefix}${run++}:`;
        const memory = createMemoryState();
        const redis = createRedisState({ url, keyPrefix: prefix, commandTimeoutMs: 5000 });
        const keys = redisKeySpace(admin, prefix);
        try {
          const mClock = { now: 1_000_000_000_000 };
          const rClock = { now: 1_000_000_000_000 };
          for (const [i, op] of ops.entries()) {
            const m = await apply(memory, op, mClock);
            const r = await apply(redis, op, rClock);
            expect(r, `op ${i} ${JSON.stringify(op)}`).toEqual(m);
            stats[JSON.stringify(m) === "\"error\"" ? "error" : op.kind] = (stats[JSON.stringify(m) === "\"error\"" ? "error" : op.kind] ?? 0) + 1;
          }
          expect(await dump(redis, rClock.now)).toEqual(await dump(memory, mClock.now));
          for (const [key, ttl] of await keys.ttls()) expect(ttl, `PTTL of ${key}`).toBeGreaterThan(0);
        } finally {
          await memory.close();
          await redis.close();
          await keys.clear();
        }
      }),
      { numRuns: 150 },
    );
    // Most ops must have done something (not all errors), or the property proves little.
    expect(stats.error ?? 0).toBeLessThan(Object.values(stats).reduce((a, b) => a + b, 0) / 4);
  }, 120_000);
});
