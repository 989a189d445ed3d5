import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { createMemoryState } from "../store/state/memory-state.js";
import type { StateBackend } from "../store/state/state-backend.js";
import { createCounterBuffer } from "./counter-buffer.js";

const TTL = 60_000;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The in-process backend, counting `incrementMany` calls and failing them while `failing` is set. */
function flakyState() {
  const inner = createMemoryState();
  const control = { failing: 0, calls: 0, failures: 0 };
  const state: StateBackend = {
    ...inner,
    async incrementMany(entries, ttlMs) {
      control.calls++;
      if (control.failing > 0) {
        control.failing--;
        control.failures++;
        throw new Error("Command timed out");
      }
      return inner.incrementMany(entries, ttlMs);
    },
  };
  const value = async (key: string): Promise<number> => {
    const raw = await inner.get(key);
    return raw === undefined ? 0 : Number(new TextDecoder().decode(raw));
  };
  return { state, control, value };
}

type Command = { kind: "add"; key: string; delta: number } | { kind: "flush"; wait: boolean } | { kind: "fail"; times: number };

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant("add" as const), key: fc.constantFrom("a", "b", "c", "d", "e", "f"), delta: fc.integer({ min: -1000, max: 1000 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("flush" as const), wait: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("fail" as const), times: fc.integer({ min: 1, max: 3 }) }) },
);

describe("createCounterBuffer", () => {
  it("writes exactly the sum of the deltas, whatever the order of adds, flushes and failed flushes", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { maxLength: 60 }), async (commands) => {
        const { state, control, value } = flakyState();
        const errors: unknown[] = [];
        // maxKeys 4 makes early flushes happen; 2 × 4 > 6 keys, so nothing is ever dropped.
        const buffer = createCounterBuffer({ state, ttlMs: TTL, onError: (err) => errors.push(err) }, { flushIntervalMs: 3_600_000, maxKeys: 4, batchKeys: 2 });
        const expected = new Map<string, number>();
        const running: Promise<void>[] = [];
        for (const c of commands) {
          if (c.kind === "add") {
            buffer.add(c.key, c.delta);
            expected.set(c.key, (expected.get(c.key) ?? 0) + c.delta);
          } else if (c.kind === "fail") {
            control.failing = c.times;
          } else if (c.wait) {
            await buffer.flush();
          } else {
            running.push(buffer.flush());
          }
        }
        await Promise.all(running);
        control.failing = 0;
        await buffer.close();
        for (const key of ["a", "b", "c", "d", "e", "f"]) expect(await value(key)).toBe(expected.get(key) ?? 0);
        expect(errors).toHaveLength(control.failures);
        await state.close();
      }),
      { numRuns: 200 },
    );
  });

  it("writes every pending key in one call per flush, and nothing before", async () => {
    const { state, control, value } = flakyState();
    const buffer = createCounterBuffer({ state, ttlMs: TTL }, { flushIntervalMs: 3_600_000 });
    for (let i = 0; i < 300; i++) buffer.add(`k${i % 30}`, 1);
    expect(control.calls).toBe(0);
    await buffer.flush();
    expect(control.calls).toBe(1);
    expect(await value("k0")).toBe(10);
    await buffer.flush();
    expect(control.calls).toBe(1);
    await buffer.close();
  });

  it("flushes on its timer, and retries a failed flush on the next tick", async () => {
    const { state, control, value } = flakyState();
    const errors: unknown[] = [];
    const buffer = createCounterBuffer({ state, ttlMs: TTL, onError: (err) => errors.push(err) }, { flushIntervalMs: 30 });
    control.failing = 1;
    buffer.add("a", 5);
    await vi.waitFor(() => expect(errors).toHaveLength(1), { timeout: 2000, interval: 5 });
    expect(await value("a")).toBe(0);
    buffer.add("a", 2);
    await vi.waitFor(async () => expect(await value("a")).toBe(7), { timeout: 2000, interval: 5 });
    expect(control.calls).toBe(2);
    await buffer.close();
  });

  it("flushes early beyond maxKeys, and keeps at most twice as many keys while the backend fails", async () => {
    const { state, control, value } = flakyState();
    const errors: unknown[] = [];
    const buffer = createCounterBuffer({ state, ttlMs: TTL, onError: (err) => errors.push(err) }, { flushIntervalMs: 3_600_000, maxKeys: 2 });
    for (const key of ["a", "b", "c"]) buffer.add(key, 1);
    await sleep(0);
    expect(control.calls).toBe(1); // the third key triggered a flush of the first two
    expect(await value("a")).toBe(1);

    control.failing = 100;
    for (let i = 0; i < 20; i++) buffer.add(`x${i}`, 1);
    await buffer.flush();
    // One early attempt (then none until an interval passed) and the explicit flush.
    expect(control.calls).toBe(3);
    expect(errors.some((err) => err instanceof Error && /dropped the deltas of \d+ keys/.test(err.message))).toBe(true);
    control.failing = 0;
    await buffer.flush();
    const kept = (await Promise.all(["c", ...Array.from({ length: 20 }, (_, i) => `x${i}`)].map(value))).filter((v) => v === 1);
    expect(kept).toHaveLength(4);
    await buffer.close();
  });
});
