import { describe, expect, it } from "vitest";
import { createWindowBatcher, MAX_BATCH, sharedTag } from "./redis-window-batch.js";

// The batcher's bookkeeping on its own (what it sends, how it splits the reply); what the script
// decides is the state backend contract's, run against Redis (`redis-state.test.ts`).
describe("createWindowBatcher", () => {
  it("sends one turn's checks per tag, window and clock, and gives each its part of the reply", async () => {
    const sent: { keys: string[]; args: (string | number)[] }[] = [];
    let turns = 0;
    const batcher = createWindowBatcher(
      (keys, args) => {
        sent.push({ keys, args });
        // One group of one key per check, then two, as the script answers.
        return Promise.resolve(keys.length === 3 ? [1, 1, 1, 0, 0, 0, 4, 900, 1, 2, 0, 7] : [1, 1, 5, 0, 7]);
      },
      () => void turns++,
    );
    const a = batcher.add(["rl:{t}:a"], [1, 5], 1000, undefined)!;
    const b = batcher.add(["rl:{t}:a", "rl:{t}:b"], [2, 3, 1, 9], 1000, undefined)!;
    const c = batcher.add(["rl:{u}:a"], [1, 5], 1000, undefined)!;
    expect(turns).toBe(1);
    expect(sent).toEqual([]);
    batcher.flush();
    expect(sent).toEqual([
      { keys: ["rl:{t}:a", "rl:{t}:a", "rl:{t}:b"], args: [1000, "", 2, 1, 2, 1, 5, 2, 3, 1, 9] },
      { keys: ["rl:{u}:a"], args: [1000, "", 1, 1, 1, 5] },
    ]);
    expect(await a).toEqual({ admitted: true, hits: [{ allowed: true, count: 1, retryAfterMs: 0 }], window: 7 });
    expect(await b).toEqual({
      admitted: false,
      hits: [{ allowed: false, count: 4, retryAfterMs: 900 }, { allowed: true, count: 2, retryAfterMs: 0 }],
      window: 7,
    });
    expect(await c).toEqual({ admitted: true, hits: [{ allowed: true, count: 5, retryAfterMs: 0 }], window: 7 });
    batcher.flush();
    expect(sent).toHaveLength(2);
    batcher.add(["rl:{t}:a"], [1, 5], 1000, 42);
    expect(turns).toBe(2);
  });

  it("starts another batch past MAX_BATCH checks, sent after it", () => {
    const sent: number[] = [];
    const batcher = createWindowBatcher((_keys, args) => {
      sent.push(Number(args[2]));
      return new Promise(() => undefined);
    }, () => undefined);
    for (let i = 0; i < 2 * MAX_BATCH + 5; i++) void batcher.add(["rl:{t}:a"], [1, 5], 1000, undefined);
    batcher.flush();
    expect(sent).toEqual([MAX_BATCH, MAX_BATCH, 5]);
  });

  it("rejects every check of a batch whose script fails, and leaves keys without a shared tag to be sent alone", async () => {
    const batcher = createWindowBatcher(() => Promise.reject(new Error("redis gone")), () => undefined);
    const checks = [batcher.add(["rl:{t}:a"], [1, 5], 1000, undefined)!, batcher.add(["rl:{t}:b"], [1, 5], 1000, undefined)!];
    batcher.flush();
    for (const check of checks) await expect(check).rejects.toThrow("redis gone");
    expect(batcher.add(["rl:{t}:a", "rl:{u}:b"], [1, 5, 1, 5], 1000, undefined)).toBeUndefined();
    await expect(batcher.one(["rl:a"], [1, 5], 1000, undefined)).rejects.toThrow("redis gone");
  });
});

describe("sharedTag", () => {
  it("reads the hash tag Redis would, and only when every key has the same one", () => {
    expect(sharedTag(["a:{org}:x", "b:{org}:y"])).toBe("org");
    expect(sharedTag(["{org}", "x{org}{other}"])).toBe("org");
    expect(sharedTag(["a:{org}:x", "a:{org2}:x"])).toBeUndefined();
    expect(sharedTag(["a:{}:x"])).toBeUndefined(); // an empty tag hashes the whole key
    expect(sharedTag(["a:{org:x"])).toBeUndefined();
    expect(sharedTag(["plain"])).toBeUndefined();
  });
});
