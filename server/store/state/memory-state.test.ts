import { describe, expect, it } from "vitest";
import { createMemoryState } from "./memory-state.js";
import { runHoldJournalContract } from "./hold-journal.contract.js";
import { runStateBackendContract } from "./state-backend.contract.js";

runStateBackendContract("memory", () => ({ backend: createMemoryState() }));
runHoldJournalContract("memory", () => ({ backend: createMemoryState() }));

describe("createMemoryState", () => {
  const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

  it("expires entries by the injected clock", async () => {
    let now = 1_000_000;
    const state = createMemoryState({ now: () => now });
    await state.set("k", bytes("v"), 100);
    await state.increment("c", 1, 100);
    now += 99;
    expect(await state.get("k")).toBeDefined();
    now += 1;
    expect(await state.get("k")).toBeUndefined();
    expect(await state.increment("c", 1, 100)).toBe(1);
    await state.close();
  });

  it("keeps a rate-limit window two windows after its last hit, so the previous window still weighs", async () => {
    const W = 1000;
    const base = 1_700_000_000_000; // window-aligned for W
    let now = base + 10;
    const state = createMemoryState({ now: () => now });
    await state.hitWindow("rl", 4, 10, W);
    // Half-way through the next window, 1.49 windows after the hit: the previous 4 weigh 2.
    now = base + W + 500;
    expect((await state.hitWindow("rl", 0, 10, W)).count).toBe(2);
    // That look (a hit of cost 0) was a hit too: two windows after it the key is gone.
    now = base + 3 * W + 500;
    expect(await state.get("rl")).toBeUndefined();
    await state.close();
  });

  it("evicts the oldest cache values beyond maxValues but never counters", async () => {
    const state = createMemoryState({ maxValues: 2 });
    await state.increment("counter", 7, 60_000);
    await state.set("a", bytes("a"), 60_000);
    await state.set("b", bytes("b"), 60_000);
    await state.set("a", bytes("a2"), 60_000); // rewriting makes "a" the newest
    await state.set("c", bytes("c"), 60_000);
    expect(await state.get("b")).toBeUndefined();
    expect(await state.get("a")).toEqual(bytes("a2"));
    expect(await state.get("c")).toEqual(bytes("c"));
    expect(await state.get("counter")).toEqual(bytes("7"));
    await state.close();
  });

  it("sweeps expired entries in the background", async () => {
    let now = 0;
    const state = createMemoryState({ now: () => now, sweepIntervalMs: 10, sweepBatch: 2 });
    for (let i = 0; i < 10; i++) await state.set(`k${i}`, bytes("v"), 50);
    await state.set("live", bytes("v"), 60_000);
    now = 100;
    await new Promise((resolve) => setTimeout(resolve, 150));
    // The sweep already removed the expired keys, so un-expiring the clock cannot revive them.
    now = 0;
    expect(await state.deleteByPrefix("k")).toBe(0);
    expect(await state.get("live")).toEqual(bytes("v"));
    await state.close();
  });
});
