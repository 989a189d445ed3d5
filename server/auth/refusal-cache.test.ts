import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createRefusalCache } from "./refusal-cache.js";

describe("refusal cache", () => {
  it("holds at most maxEntries refusals however many distinct HMACs are refused", () => {
    const cache = createRefusalCache({ maxEntries: 1_000, ttlMs: 5_000 });
    for (let i = 0; i < 100_000; i++) cache.add(`hmac-${i}`, 0, undefined);
    expect(cache.size).toBe(1_000);
    expect(cache.has("hmac-99999", 0)).toBe(true);
    expect(cache.has("hmac-0", 0)).toBe(false);
  });

  it("refuses for ttlMs counted from the lookup, then forgets", () => {
    const cache = createRefusalCache({ maxEntries: 10, ttlMs: 5_000 });
    cache.add("a", 1_000, undefined);
    expect(cache.has("a", 5_999)).toBe(true);
    expect(cache.has("a", 6_000)).toBe(false);
    expect(cache.size).toBe(0);
    const off = createRefusalCache({ maxEntries: 10, ttlMs: 0 });
    off.add("a", 1_000, undefined);
    expect(off.has("a", 1_000)).toBe(false);
  });

  it("forgets every refusal of one key and nothing else", () => {
    const cache = createRefusalCache({ maxEntries: 10, ttlMs: 5_000 });
    cache.add("current", 0, "k1");
    cache.add("previous", 0, "k1");
    cache.add("unknown", 0, undefined);
    cache.forgetKey("k1");
    expect(cache.size).toBe(1);
    expect(cache.has("unknown", 0)).toBe(true);
    cache.delete("unknown");
    expect(cache.has("unknown", 0)).toBe(false);
  });

  it("behaves like a reference LRU of maxEntries under any sequence of checks and refusals (property)", () => {
    const op = fc.tuple(fc.constantFrom("has", "add"), fc.constantFrom("a", "b", "c", "d", "e"));
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.array(op, { maxLength: 40 }), (max, ops) => {
        const cache = createRefusalCache({ maxEntries: max, ttlMs: 5_000 });
        const model: string[] = []; // least recent first
        for (const [kind, hmac] of ops) {
          const at = model.indexOf(hmac);
          if (kind === "has") {
            expect(cache.has(hmac, 0)).toBe(at !== -1);
            if (at !== -1) model.push(...model.splice(at, 1));
          } else {
            cache.add(hmac, 0, undefined);
            if (at !== -1) model.splice(at, 1);
            model.push(hmac);
            if (model.length > max) model.shift();
          }
          expect(cache.size).toBe(model.length);
        }
      }),
    );
  });
});
