import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Principal } from "./principal.js";
import { createKeyCache, type CachedKey } from "./key-cache.js";

const entry = (keyId: string): CachedKey => ({
  principal: { orgId: "org_1", teamId: "team_1", keyId, keyName: `orgs/a/teams/t/keys/${keyId}`, scopes: new Set(), allowedRoutes: [], allowedModels: [], tags: {}, expiresAt: null } satisfies Principal,
  fetchedAt: 0,
});

describe("key cache", () => {
  it("holds exactly maxEntries keys, evicting the least recently used (a read counts as a use)", () => {
    const cache = createKeyCache(2);
    cache.set("a", entry("ka"));
    cache.set("b", entry("kb"));
    expect(cache.size).toBe(2);
    expect(cache.get("a")?.principal.keyId).toBe("ka"); // a is now more recent than b
    cache.set("c", entry("kc"));
    expect(cache.size).toBe(2);
    expect(cache.get("b")).toBeUndefined();
    expect(cache.get("a")?.principal.keyId).toBe("ka");
    expect(cache.get("c")?.principal.keyId).toBe("kc");
  });

  it("behaves like a reference LRU of maxEntries under any sequence of gets and sets (property)", () => {
    const op = fc.tuple(fc.constantFrom("get", "set"), fc.constantFrom("a", "b", "c", "d", "e"));
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.array(op, { maxLength: 40 }), (max, ops) => {
        const cache = createKeyCache(max);
        const model: string[] = []; // least recent first
        for (const [kind, hmac] of ops) {
          const at = model.indexOf(hmac);
          if (kind === "get") {
            expect(cache.get(hmac) !== undefined).toBe(at !== -1);
            if (at !== -1) model.push(...model.splice(at, 1));
          } else {
            cache.set(hmac, entry(`k${hmac}`));
            if (at !== -1) model.splice(at, 1);
            model.push(hmac);
            if (model.length > max) model.shift();
          }
          expect(cache.size).toBe(model.length);
        }
      }),
    );
  });

  it("forgets every secret of one key and nothing else", () => {
    const cache = createKeyCache(10);
    cache.set("current", entry("k1"));
    cache.set("previous", entry("k1"));
    cache.set("other", entry("k2"));
    cache.forgetKey("k1");
    expect(cache.size).toBe(1);
    expect(cache.get("other")?.principal.keyId).toBe("k2");
  });
});
