import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireEnv } from "../../../test/support/require-env.js";
import { createTurnBatcher, MAX_BATCH, sharedTag } from "./redis-turn-batch.js";

// The batch script on a real Redis: what each operation sees and answers. What the gateway's own
// scripts decide inside it is the state backend contract's (`redis-state.test.ts`).
const url = requireEnv("REDIS_URL");
const prefix = `sbtest:${randomBytes(6).toString("hex")}:`;
let redis: Redis;
beforeAll(() => {
  redis = new Redis(url);
});
afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

const ops = {
  echo: "return {KEYS[1], ARGV[1], #KEYS, #ARGV, shared}",
  incr: "return redis.call('INCRBY', KEYS[1], ARGV[1])",
  fail: "error('boom')",
  refuse: "return redis.error_reply('ERR refused here')",
  wrongType: "return redis.call('HGET', KEYS[1], 'f')",
};

function batcher() {
  const sent: { keys: string[]; args: (string | number)[] }[] = [];
  let turns = 0;
  const b = createTurnBatcher(
    ops,
    "local shared = 'from the prelude'",
    (lua, keys, args) => {
      sent.push({ keys, args });
      return redis.eval(lua, keys.length, ...keys, ...args);
    },
    () => void turns++,
  );
  return { b, sent, turns: () => turns };
}

describe("createTurnBatcher", () => {
  it("runs a tenant's operations of one turn as one script, each with its own keys and arguments, in order", async () => {
    const { b, sent, turns } = batcher();
    const k = (name: string, tag = "t") => `${prefix}{${tag}}:${name}`;
    const replies = [
      b.add("echo", [k("a"), k("b")], ["x", "y", "z"]),
      b.add("incr", [k("n")], [2]),
      b.add("incr", [k("n")], [3]),
      b.add("echo", [k("c", "u")], ["other tenant"]),
    ];
    expect(turns()).toBe(1);
    expect(sent).toHaveLength(0);
    b.flush();
    expect(await Promise.all(replies)).toEqual([[k("a"), "x", 2, 3, "from the prelude"], 2, 5, [k("c", "u"), "other tenant", 1, 1, "from the prelude"]]);
    expect(sent.map((s) => s.keys.length)).toEqual([4, 1]);
    b.flush();
    expect(sent).toHaveLength(2);
  });

  it("starts another batch past MAX_BATCH operations, keeping the order they were issued in", async () => {
    const { b, sent, turns } = batcher();
    const key = `${prefix}{big}:n`;
    const count = 2 * MAX_BATCH + 44;
    const replies = Array.from({ length: count }, () => b.add("incr", [key], [1])!);
    expect(turns()).toBe(1);
    b.flush();
    expect(await Promise.all(replies)).toEqual(Array.from({ length: count }, (_, i) => i + 1));
    expect(sent.map((s) => s.keys.length)).toEqual([MAX_BATCH, MAX_BATCH, 44]);
  });

  it("rejects only the operation that failed, with its error", async () => {
    const { b } = batcher();
    const k = (name: string) => `${prefix}{e}:${name}`;
    await redis.set(k("string"), "not a hash");
    const replies = [
      b.add("incr", [k("m")], [1]),
      b.add("fail", [k("m")], []),
      b.add("refuse", [k("m")], []),
      b.add("wrongType", [k("string")], []),
      b.add("incr", [k("m")], [1]),
    ].map((p) => p!.then((value): { value?: unknown; error?: string } => ({ value }), (err: Error) => ({ error: err.message })));
    b.flush();
    const [first, failed, refused, wrong, last] = await Promise.all(replies);
    expect(first).toEqual({ value: 1 });
    expect(failed!.error).toMatch(/boom/);
    expect(refused).toEqual({ error: "ERR refused here" });
    expect(wrong!.error).toMatch(/WRONGTYPE/);
    expect(last).toEqual({ value: 2 });
  });

  it("rejects every operation of a batch that could not be sent, and leaves keys without a shared tag to be sent alone", async () => {
    const b = createTurnBatcher(ops, "", () => Promise.reject(new Error("redis gone")), () => undefined);
    const replies = [b.add("incr", ["{t}:a"], [1])!, b.add("incr", ["{t}:b"], [1])!];
    b.flush();
    for (const reply of replies) await expect(reply).rejects.toThrow("redis gone");
    expect(b.add("incr", ["{t}:a", "{u}:b"], [1])).toBeUndefined();
    expect(b.add("incr", ["plain"], [1])).toBeUndefined();
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
