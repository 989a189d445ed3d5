import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { StateBackend } from "./state-backend.js";

/** One backend under test plus the probes only its own test file can provide. */
export interface StateBackendHarness {
  backend: StateBackend;
  /**
   * Keys the backend currently holds without an expiry (Redis: SCAN + PTTL). Checked empty after
   * every test (P6: no immortal key). Omit when the implementation cannot represent one.
   */
  keysWithoutTtl?: () => Promise<string[]>;
  /** Extra teardown after the backend is closed (e.g. removing this test's keys). */
  dispose?: () => Promise<void>;
}

/**
 * Registers, in the calling `describe`, a fresh harness per test (handed to `use`) and its
 * teardown: no key left without a TTL (P6), the backend closed, the harness disposed.
 */
export function eachHarness(factory: () => StateBackendHarness | Promise<StateBackendHarness>, use: (harness: StateBackendHarness) => void): void {
  let harness: StateBackendHarness;
  beforeEach(async () => {
    harness = await factory();
    use(harness);
  });
  afterEach(async () => {
    try {
      if (harness.keysWithoutTtl) expect(await harness.keysWithoutTtl()).toEqual([]);
    } finally {
      await harness.backend.close();
      await harness.dispose?.();
    }
  });
}

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (value: Uint8Array | undefined): string | undefined =>
  value === undefined ? undefined : new TextDecoder().decode(value);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const LONG_TTL = 60_000;

/**
 * The behaviour every `StateBackend` must show, run against real implementations (never mocks):
 * each implementation's test file calls this with a factory that returns a fresh, isolated
 * backend per test. Keeping one suite is what makes the in-process and Redis backends
 * interchangeable for the limiters and caches built on them.
 */
export function runStateBackendContract(
  name: string,
  factory: () => StateBackendHarness | Promise<StateBackendHarness>,
): void {
  describe(`StateBackend contract: ${name}`, () => {
    let state: StateBackend;

    eachHarness(factory, (h) => (state = h.backend));

    describe("get / set / delete", () => {
      it("round-trips bytes and returns undefined for absent keys", async () => {
        expect(await state.get("missing")).toBeUndefined();
        await state.set("k", new Uint8Array([0, 1, 2, 255]), LONG_TTL);
        expect(await state.get("k")).toEqual(new Uint8Array([0, 1, 2, 255]));
        await state.set("k", bytes("second"), LONG_TTL);
        expect(text(await state.get("k"))).toBe("second");
      });

      it("stores and returns copies", async () => {
        const value = bytes("abc");
        await state.set("k", value, LONG_TTL);
        value[0] = 0x7a;
        const read = await state.get("k");
        expect(text(read)).toBe("abc");
        read![1] = 0x7a;
        expect(text(await state.get("k"))).toBe("abc");
      });

      it("expires values after their TTL", async () => {
        await state.set("short", bytes("v"), 100);
        await state.set("long", bytes("v"), LONG_TTL);
        expect(text(await state.get("short"))).toBe("v");
        await sleep(300);
        expect(await state.get("short")).toBeUndefined();
        expect(text(await state.get("long"))).toBe("v");
      });

      it("refuses a write without a positive integer TTL and writes nothing", async () => {
        for (const ttl of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
          await expect(state.set("k", bytes("v"), ttl)).rejects.toThrow(RangeError);
          await expect(state.increment("c", 1, ttl)).rejects.toThrow(RangeError);
          await expect(state.reserve([{ key: "r", amount: 1, limit: 5 }], ttl)).rejects.toThrow(RangeError);
        }
        expect(await state.get("k")).toBeUndefined();
        expect(await state.get("c")).toBeUndefined();
        expect(await state.get("r")).toBeUndefined();
      });

      it("delete reports whether a key was removed", async () => {
        await state.set("k", bytes("v"), LONG_TTL);
        expect(await state.delete("k")).toBe(true);
        expect(await state.get("k")).toBeUndefined();
        expect(await state.delete("k")).toBe(false);
      });
    });

    describe("deleteByPrefix", () => {
      it("removes exactly the keys under the prefix", async () => {
        for (const key of ["a:1", "a:2", "ab", "b:1"]) await state.set(key, bytes(key), LONG_TTL);
        await state.increment("a:counter", 3, LONG_TTL);
        expect(await state.deleteByPrefix("a:")).toBe(3);
        expect(await state.get("a:1")).toBeUndefined();
        expect(await state.get("a:counter")).toBeUndefined();
        expect(text(await state.get("ab"))).toBe("ab");
        expect(text(await state.get("b:1"))).toBe("b:1");
        expect(await state.deleteByPrefix("a:")).toBe(0);
      });

      it("treats glob characters in the prefix literally", async () => {
        for (const key of ["x*y:1", "x*y:2", "xzy:3", "x?y:4", "x[y]:5"]) await state.set(key, bytes("v"), LONG_TTL);
        expect(await state.deleteByPrefix("x*y:")).toBe(2);
        expect(await state.deleteByPrefix("x[y]")).toBe(1);
        expect(text(await state.get("xzy:3"))).toBe("v");
        expect(text(await state.get("x?y:4"))).toBe("v");
      });

      it("handles more keys than one batch", async () => {
        await Promise.all(Array.from({ length: 1200 }, (_, i) => state.set(`many:${i}`, bytes("v"), LONG_TTL)));
        await state.set("other", bytes("v"), LONG_TTL);
        expect(await state.deleteByPrefix("many:")).toBe(1200);
        expect(text(await state.get("other"))).toBe("v");
      });
    });

    describe("increment", () => {
      it("adds deltas to a counter that starts at zero and reads back as decimal text", async () => {
        expect(await state.increment("c", 5, LONG_TTL)).toBe(5);
        expect(await state.increment("c", -2, LONG_TTL)).toBe(3);
        expect(await state.increment("c", 0, LONG_TTL)).toBe(3);
        expect(text(await state.get("c"))).toBe("3");
      });

      it("is atomic under concurrency", async () => {
        const results = await Promise.all(Array.from({ length: 200 }, () => state.increment("c", 1, LONG_TTL)));
        expect([...results].sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
        expect(text(await state.get("c"))).toBe("200");
      });

      it("sets the TTL on creation and keeps it on later increments", async () => {
        await state.increment("c", 1, 150);
        await sleep(60);
        await state.increment("c", 1, LONG_TTL);
        await sleep(240);
        expect(await state.get("c")).toBeUndefined();
        expect(await state.increment("c", 1, LONG_TTL)).toBe(1);
      });

      it("rejects counting on a value that is not an integer", async () => {
        await state.set("k", bytes("not a number"), LONG_TTL);
        await expect(state.increment("k", 1, LONG_TTL)).rejects.toThrow();
        await expect(state.increment("c", 0.5, LONG_TTL)).rejects.toThrow(RangeError);
      });
    });

    describe("incrementMany", () => {
      it("adds every delta in one call and resolves the new values in order", async () => {
        await state.increment("a", 10, LONG_TTL);
        const values = await state.incrementMany(
          [
            { key: "a", delta: 5 },
            { key: "b", delta: -3 },
            { key: "a", delta: 1 },
            { key: "c", delta: 0 },
          ],
          LONG_TTL,
        );
        expect(values).toEqual([15, -3, 16, 0]);
        expect(text(await state.get("a"))).toBe("16");
        expect(text(await state.get("b"))).toBe("-3");
        expect(text(await state.get("c"))).toBe("0");
        expect(await state.incrementMany([], LONG_TTL)).toEqual([]);
      });

      it("is atomic under concurrency", async () => {
        const entries = [{ key: "x", delta: 1 }, { key: "y", delta: 2 }];
        await Promise.all(Array.from({ length: 100 }, () => state.incrementMany(entries, LONG_TTL)));
        expect(text(await state.get("x"))).toBe("100");
        expect(text(await state.get("y"))).toBe("200");
      });

      it("sets the TTL on creation and keeps it on later increments, like increment", async () => {
        await state.incrementMany([{ key: "c", delta: 1 }], 150);
        await sleep(60);
        await state.incrementMany([{ key: "c", delta: 1 }, { key: "d", delta: 1 }], LONG_TTL);
        await sleep(240);
        expect(await state.get("c")).toBeUndefined();
        expect(text(await state.get("d"))).toBe("1");
      });

      it("writes nothing when one key is not a counter or an argument is invalid", async () => {
        await state.set("bytes", bytes("not a number"), LONG_TTL);
        await expect(state.incrementMany([{ key: "a", delta: 1 }, { key: "bytes", delta: 1 }], LONG_TTL)).rejects.toThrow();
        await expect(state.incrementMany([{ key: "a", delta: 1 }, { key: "b", delta: 0.5 }], LONG_TTL)).rejects.toThrow(RangeError);
        await expect(state.incrementMany([{ key: "a", delta: 1 }], 0)).rejects.toThrow(RangeError);
        expect(await state.get("a")).toBeUndefined();
        expect(text(await state.get("bytes"))).toBe("not a number");
      });
    });

    describe("reserve / release", () => {
      it("adds every amount when all fit", async () => {
        const result = await state.reserve(
          [
            { key: "key", amount: 10, limit: 100 },
            { key: "team", amount: 10, limit: 1000 },
          ],
          LONG_TTL,
        );
        expect(result).toEqual({ ok: true });
        expect(text(await state.get("key"))).toBe("10");
        expect(text(await state.get("team"))).toBe("10");
      });

      it("is all-or-nothing and reports the first entry that would exceed", async () => {
        await state.reserve([{ key: "team", amount: 90, limit: 100 }], LONG_TTL);
        const result = await state.reserve(
          [
            { key: "key", amount: 20, limit: 1000 },
            { key: "team", amount: 20, limit: 100 },
            { key: "org", amount: 2000, limit: 1000 },
          ],
          LONG_TTL,
        );
        expect(result).toEqual({ ok: false, index: 1, current: 90 });
        expect(await state.get("key")).toBeUndefined();
        expect(text(await state.get("team"))).toBe("90");
        expect(await state.reserve([{ key: "team", amount: 10, limit: 100 }], LONG_TTL)).toEqual({ ok: true });
        expect(await state.reserve([{ key: "team", amount: 1, limit: 100 }], LONG_TTL)).toEqual({
          ok: false,
          index: 0,
          current: 100,
        });
      });

      it("counts a key repeated within one call against its running total", async () => {
        const result = await state.reserve(
          [
            { key: "k", amount: 30, limit: 50 },
            { key: "k", amount: 30, limit: 50 },
          ],
          LONG_TTL,
        );
        expect(result).toEqual({ ok: false, index: 1, current: 30 });
        expect(await state.get("k")).toBeUndefined();
      });

      it("admits exactly the limit under concurrency", async () => {
        const results = await Promise.all(
          Array.from({ length: 200 }, () => state.reserve([{ key: "k", amount: 1, limit: 50 }], LONG_TTL)),
        );
        expect(results.filter((r) => r.ok)).toHaveLength(50);
        expect(text(await state.get("k"))).toBe("50");
      });

      it("admits exactly the tightest limit across keys under concurrency", async () => {
        const results = await Promise.all(
          Array.from({ length: 100 }, () =>
            state.reserve(
              [
                { key: "org", amount: 1, limit: 50 },
                { key: "team", amount: 1, limit: 30 },
              ],
              LONG_TTL,
            ),
          ),
        );
        expect(results.filter((r) => r.ok)).toHaveLength(30);
        expect(text(await state.get("org"))).toBe("30");
        expect(text(await state.get("team"))).toBe("30");
      });

      it("refreshes the TTL on every write", async () => {
        await state.reserve([{ key: "k", amount: 1, limit: 10 }], 200);
        await sleep(120);
        await state.reserve([{ key: "k", amount: 1, limit: 10 }], 200);
        await sleep(120);
        expect(text(await state.get("k"))).toBe("2");
        await sleep(250);
        expect(await state.get("k")).toBeUndefined();
      });

      it("release subtracts, clamps at zero, and never creates a counter", async () => {
        await state.reserve([{ key: "a", amount: 10, limit: 100 }, { key: "b", amount: 5, limit: 100 }], LONG_TTL);
        await state.release([{ key: "a", amount: 4 }, { key: "b", amount: 50 }, { key: "absent", amount: 1 }], LONG_TTL);
        expect(text(await state.get("a"))).toBe("6");
        expect(await state.get("b")).toBeUndefined();
        expect(await state.get("absent")).toBeUndefined();
        expect(await state.reserve([{ key: "b", amount: 100, limit: 100 }], LONG_TTL)).toEqual({ ok: true });
        await state.release([], LONG_TTL);
      });

      it("release gives the remaining counter a fresh TTL", async () => {
        // Margins of 300 ms or more on each side: a loaded CI machine stalls a sleep by 100 ms and more.
        await state.reserve([{ key: "a", amount: 10, limit: 100 }], 300);
        await state.release([{ key: "a", amount: 1 }], 1200);
        await sleep(600); // past the reserve's TTL, within the release's
        expect(text(await state.get("a"))).toBe("9");
        await sleep(900); // past the release's
        expect(await state.get("a")).toBeUndefined();
      });

      it("rejects a reservation on a value that is not an integer, writing nothing", async () => {
        // Text a lenient number parser reads ("1e3", "0x10", " 5") is not a counter either.
        for (const raw of ["1e3", "0x10", " 5", "2.5"]) {
          await state.set("k", bytes(raw), LONG_TTL);
          await expect(state.reserve([{ key: "a", amount: 1, limit: 100 }, { key: "k", amount: 1, limit: 10_000 }], LONG_TTL)).rejects.toThrow();
          expect(await state.get("a")).toBeUndefined();
          expect(text(await state.get("k"))).toBe(raw);
        }
      });

      it("rejects negative amounts and empty reservations", async () => {
        await expect(state.reserve([{ key: "k", amount: -1, limit: 5 }], LONG_TTL)).rejects.toThrow(RangeError);
        await expect(state.reserve([], LONG_TTL)).rejects.toThrow(RangeError);
        await expect(state.release([{ key: "k", amount: -1 }], LONG_TTL)).rejects.toThrow(RangeError);
      });
    });

    describe("hitWindow", () => {
      const W = 1000;
      const base = 1_700_000_000_000; // window-aligned for W

      it("admits up to the limit, then refuses with the time until the hit fits", async () => {
        for (let i = 1; i <= 5; i++) {
          expect(await state.hitWindow("rl", 1, 5, W, base)).toEqual({ allowed: true, count: i, retryAfterMs: 0 });
        }
        // Full: fits 200 ms into the next window, when 5 × 0.8 + 1 ≤ 5.
        expect(await state.hitWindow("rl", 1, 5, W, base + 10)).toEqual({ allowed: false, count: 5, retryAfterMs: 1190 });
        expect((await state.hitWindow("rl", 1, 5, W, base + W + 199)).allowed).toBe(false);
        expect(await state.hitWindow("rl", 1, 5, W, base + W + 200)).toEqual({ allowed: true, count: 5, retryAfterMs: 0 });
      });

      it("weights the previous window by the unelapsed fraction of the current one", async () => {
        expect((await state.hitWindow("rl", 10, 10, W, base + 900)).allowed).toBe(true);
        // Half-way through the next window the previous 10 weigh 5.
        expect(await state.hitWindow("rl", 5, 10, W, base + W + 500)).toEqual({ allowed: true, count: 10, retryAfterMs: 0 });
        expect(await state.hitWindow("rl", 1, 10, W, base + W + 500)).toEqual({ allowed: false, count: 10, retryAfterMs: 100 });
        expect(await state.hitWindow("rl", 1, 10, W, base + W + 600)).toEqual({ allowed: true, count: 10, retryAfterMs: 0 });
        // At the next boundary the 6 units of the middle window still weigh in fully...
        expect(await state.hitWindow("rl", 10, 10, W, base + 2 * W)).toEqual({ allowed: false, count: 6, retryAfterMs: 1000 });
        // ...and one window later they no longer count at all.
        expect(await state.hitWindow("rl", 10, 10, W, base + 3 * W)).toEqual({ allowed: true, count: 10, retryAfterMs: 0 });
      });

      it("never admits a hit that costs more than the limit", async () => {
        expect(await state.hitWindow("rl", 6, 5, W, base)).toEqual({ allowed: false, count: 0, retryAfterMs: -1 });
        expect(await state.hitWindow("rl", 5, 5, W, base)).toEqual({ allowed: true, count: 5, retryAfterMs: 0 });
      });

      it("admits exactly the limit in a window under concurrency", async () => {
        const results = await Promise.all(Array.from({ length: 200 }, () => state.hitWindow("rl", 1, 50, W, base + 10)));
        expect(results.filter((r) => r.allowed)).toHaveLength(50);
        expect(Math.max(...results.map((r) => r.count))).toBe(50);
      });

      it("uses the backend clock when no time is given", async () => {
        const hits = [];
        for (let i = 0; i < 4; i++) hits.push(await state.hitWindow("rl", 1, 3, 60_000));
        expect(hits.map((h) => h.allowed)).toEqual([true, true, true, false]);
        expect(hits[3]!.retryAfterMs).toBeGreaterThan(0);
        expect(hits[3]!.retryAfterMs).toBeLessThanOrEqual(120_000);
      });

      it("expires its key two windows after the last admitted hit", async () => {
        await state.hitWindow("rl", 1, 5, 100);
        await sleep(350);
        expect(await state.get("rl")).toBeUndefined();
      });

      it("rejects invalid arguments", async () => {
        await expect(state.hitWindow("rl", -1, 5, W)).rejects.toThrow(RangeError);
        await expect(state.hitWindow("rl", 1, 5, 0)).rejects.toThrow(RangeError);
        await expect(state.hitWindow("rl", 1, Number.MAX_SAFE_INTEGER, W)).rejects.toThrow(RangeError);
      });
    });

    describe("hitWindows", () => {
      const W = 1000;
      const base = 1_700_000_000_000; // window-aligned for W
      /** A window's count now, without counting anything (a hit of cost 0). */
      const countOf = async (key: string, at: number) => (await state.hitWindow(key, 0, 1_000_000, W, at)).count;

      it("counts every entry when all have room, and none when one has not", async () => {
        const both = [{ key: "rl:{t}:a", cost: 1, limit: 5 }, { key: "rl:{t}:b", cost: 1, limit: 2 }];
        for (let i = 1; i <= 2; i++) {
          expect(await state.hitWindows(both, W, base + 10)).toEqual({
            admitted: true,
            hits: [{ allowed: true, count: i, retryAfterMs: 0 }, { allowed: true, count: i, retryAfterMs: 0 }],
            window: base / W,
          });
        }
        // b is full: a had room (and says so) but is not counted either.
        expect(await state.hitWindows(both, W, base + 20)).toEqual({
          admitted: false,
          hits: [{ allowed: true, count: 3, retryAfterMs: 0 }, { allowed: false, count: 2, retryAfterMs: 1480 }],
          window: base / W,
        });
        expect(await countOf("rl:{t}:a", base + 30)).toBe(2);
        expect(await countOf("rl:{t}:b", base + 30)).toBe(2);
      });

      it("decides a single entry exactly as hitWindow does", async () => {
        await fc.assert(
          fc.asyncProperty(
            fc.array(fc.record({ cost: fc.integer({ min: 0, max: 6 }), limit: fc.integer({ min: 0, max: 8 }), advance: fc.integer({ min: 0, max: 700 }) }), { minLength: 1, maxLength: 25 }),
            fc.integer({ min: 0, max: 1_000_000 }),
            async (steps, run) => {
              let at = base;
              for (const { cost, limit, advance } of steps) {
                at += advance;
                const one = await state.hitWindow(`rl:{p}:one-${run}`, cost, limit, W, at);
                const many = await state.hitWindows([{ key: `rl:{p}:many-${run}`, cost, limit }], W, at);
                expect(many).toEqual({ admitted: one.allowed, hits: [one], window: Math.floor(at / W) });
              }
            },
          ),
          { numRuns: 15 },
        );
      });

      it("admits exactly the tightest limit under concurrency, and counts it on every key", async () => {
        const entries = [{ key: "rl:{t}:wide", cost: 1, limit: 50 }, { key: "rl:{t}:narrow", cost: 1, limit: 30 }];
        const results = await Promise.all(Array.from({ length: 120 }, () => state.hitWindows(entries, W, base + 10)));
        expect(results.filter((r) => r.admitted)).toHaveLength(30);
        expect(await countOf("rl:{t}:wide", base + 20)).toBe(30);
        expect(await countOf("rl:{t}:narrow", base + 20)).toBe(30);
      });

      it("decides checks issued together one after the other, each all-or-nothing", async () => {
        // One turn: on Redis these share one script (`redis-window-batch.ts`), which must not
        // change what each decides. a has room for 5: the first takes 3, the second (a and b)
        // would make 6 and is refused whole (b not counted), the third fits the 2 left, the
        // fourth (another tenant) is not affected, the fifth (b alone) sees b untouched.
        const at = base + 10;
        const results = await Promise.all([
          state.hitWindows([{ key: "rl:{g}:a", cost: 3, limit: 5 }], W, at),
          state.hitWindows([{ key: "rl:{g}:a", cost: 3, limit: 5 }, { key: "rl:{g}:b", cost: 1, limit: 5 }], W, at),
          state.hitWindows([{ key: "rl:{g}:a", cost: 2, limit: 5 }], W, at),
          state.hitWindows([{ key: "rl:{h}:a", cost: 5, limit: 5 }], W, at),
          state.hitWindows([{ key: "rl:{g}:b", cost: 5, limit: 5 }], W, at),
          state.hitWindows([{ key: "rl:{g}:c", cost: 1, limit: 5 }], W), // the backend's own clock
        ]);
        expect(results.map((r) => r.admitted)).toEqual([true, false, true, true, true, true]);
        expect(results[1]!.hits).toEqual([{ allowed: false, count: 3, retryAfterMs: 1324 }, { allowed: true, count: 1, retryAfterMs: 0 }]);
        expect(results[2]!.hits).toEqual([{ allowed: true, count: 5, retryAfterMs: 0 }]);
        expect(results[4]!.hits).toEqual([{ allowed: true, count: 5, retryAfterMs: 0 }]);
        expect(results.slice(0, 5).map((r) => r.window)).toEqual(Array(5).fill(base / W));
        expect(await countOf("rl:{g}:a", at)).toBe(5);
        expect(await countOf("rl:{g}:b", at)).toBe(5);
        expect(await countOf("rl:{h}:a", at)).toBe(5);
      });

      it("resolves an empty list as admitted, and rejects repeated keys and invalid entries", async () => {
        expect(await state.hitWindows([], W)).toEqual({ admitted: true, hits: [] });
        await expect(state.hitWindows([{ key: "rl", cost: 1, limit: 5 }, { key: "rl", cost: 1, limit: 5 }], W)).rejects.toThrow(RangeError);
        await expect(state.hitWindows([{ key: "rl", cost: -1, limit: 5 }], W)).rejects.toThrow(RangeError);
        await expect(state.hitWindows([{ key: "rl", cost: 1, limit: 5 }], 0)).rejects.toThrow(RangeError);
        expect(await state.get("rl")).toBeUndefined();
      });

      it("expires every counted key two windows after the hit", async () => {
        await state.hitWindows([{ key: "rl:{t}:x", cost: 1, limit: 5 }, { key: "rl:{t}:y", cost: 1, limit: 5 }], 100);
        await sleep(350);
        expect(await state.get("rl:{t}:x")).toBeUndefined();
        expect(await state.get("rl:{t}:y")).toBeUndefined();
      });
    });

    describe("unhitWindows", () => {
      const W = 1000;
      const base = 1_700_000_000_000; // window-aligned for W
      const countOf = async (key: string, at: number) => (await state.hitWindow(key, 0, 1_000_000, W, at)).count;

      it("takes back from the window a hit was counted in, on every key, never below zero", async () => {
        const keys = [{ key: "rl:{u}:a", cost: 3, limit: 10 }, { key: "rl:{u}:b", cost: 3, limit: 10 }];
        const { window } = await state.hitWindows(keys, W, base + 10);
        await state.unhitWindows([{ key: "rl:{u}:a", cost: 2 }, { key: "rl:{u}:b", cost: 5 }], W, window!);
        expect(await countOf("rl:{u}:a", base + 20)).toBe(1);
        expect(await countOf("rl:{u}:b", base + 20)).toBe(0);
        // Taken back, the room is there again: 9 more fit under 10 on a.
        expect((await state.hitWindows([{ key: "rl:{u}:a", cost: 9, limit: 10 }], W, base + 30)).admitted).toBe(true);
      });

      it("takes back from the previous window too, where it still weighs on the sliding count", async () => {
        const { window } = await state.hitWindows([{ key: "rl:{u}:p", cost: 4, limit: 10 }], W, base + 10);
        expect(await countOf("rl:{u}:p", base + W + 500)).toBe(2); // 4 × half the window left
        await state.unhitWindows([{ key: "rl:{u}:p", cost: 4 }], W, window!);
        expect(await countOf("rl:{u}:p", base + W + 500)).toBe(0);
      });

      it("leaves alone a window no longer kept, and a key never hit", async () => {
        const { window } = await state.hitWindows([{ key: "rl:{u}:old", cost: 4, limit: 10 }], W, base + 10);
        await state.hitWindows([{ key: "rl:{u}:old", cost: 3, limit: 10 }], W, base + 2 * W + 10); // drops the first window
        await state.unhitWindows([{ key: "rl:{u}:old", cost: 4 }, { key: "rl:{u}:never", cost: 4 }], W, window!);
        expect(await countOf("rl:{u}:old", base + 2 * W + 20)).toBe(3);
        expect(await state.get("rl:{u}:never")).toBeUndefined();
      });

      it("leaves exactly the hits not taken back (property)", async () => {
        let runs = 0;
        await fc.assert(
          fc.asyncProperty(fc.array(fc.record({ cost: fc.integer({ min: 0, max: 50 }), back: fc.boolean() }), { minLength: 1, maxLength: 20 }), async (hits) => {
            const key = `rl:{q}:k-${runs++}`; // a fresh key each run (shrinking replays runs)
            let kept = 0;
            const taken: { cost: number; window: number }[] = [];
            for (const { cost, back } of hits) {
              const { window } = await state.hitWindows([{ key, cost, limit: 1_000_000 }], W, base + 100);
              if (back) taken.push({ cost, window: window! });
              else kept += cost;
            }
            for (const t of taken) await state.unhitWindows([{ key, cost: t.cost }], W, t.window);
            expect(await countOf(key, base + 200)).toBe(kept);
          }),
          { numRuns: 15 },
        );
      });

      it("rejects repeated keys and invalid arguments", async () => {
        await expect(state.unhitWindows([{ key: "rl", cost: 1 }, { key: "rl", cost: 1 }], W, 1)).rejects.toThrow(RangeError);
        await expect(state.unhitWindows([{ key: "rl", cost: -1 }], W, 1)).rejects.toThrow(RangeError);
        await expect(state.unhitWindows([{ key: "rl", cost: 1 }], 0, 1)).rejects.toThrow(RangeError);
        await expect(state.unhitWindows([{ key: "rl", cost: 1 }], W, -1)).rejects.toThrow(RangeError);
        await state.unhitWindows([], W, 1);
      });
    });

    describe("lifecycle", () => {
      it("answers ping while open and rejects after close", async () => {
        await state.ping();
        await state.close();
        await state.close();
        await expect(state.ping()).rejects.toThrow();
        await expect(state.get("k")).rejects.toThrow();
      });
    });
  });
}
