import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { generateSecret } from "./key-format.js";
import { createSecretDigestMemo } from "./secret-digest-memo.js";
import * as secretHash from "./secret-hash.js";

vi.mock("./secret-hash.js", async (importOriginal) => {
  const actual = await importOriginal<typeof import("./secret-hash.js")>();
  return { ...actual, hashSecret: vi.fn(actual.hashSecret) };
});

const pepper = "p".repeat(32);
const hmacCalls = () => vi.mocked(secretHash.hashSecret).mock.calls.length;

describe("createSecretDigestMemo", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.mocked(secretHash.hashSecret).mockClear();
  });
  afterEach(() => vi.useRealTimers());

  it("answers hashSecret(secret, pepper), computing it once for a secret presented again", () => {
    const digestOf = createSecretDigestMemo(pepper);
    const [a, b] = [generateSecret(), generateSecret()];
    const expected = (s: string) => vi.mocked(secretHash.hashSecret).getMockImplementation()!(s, pepper);
    expect(digestOf(a)).toBe(expected(a));
    expect(digestOf(b)).toBe(expected(b));
    vi.mocked(secretHash.hashSecret).mockClear();
    for (let i = 0; i < 5; i++) {
      expect(digestOf(a)).toBe(expected(a));
      expect(digestOf(b)).toBe(expected(b));
    }
    expect(hmacCalls()).toBe(0);
  });

  it("keeps a secret while it is presented and forgets it after idleMs unused", () => {
    const digestOf = createSecretDigestMemo(pepper, { idleMs: 1_000 });
    const [busy, idle] = [generateSecret(), generateSecret()];
    digestOf(busy);
    digestOf(idle);
    expect(hmacCalls()).toBe(2);
    for (let t = 0; t < 10; t++) {
      vi.advanceTimersByTime(400);
      digestOf(busy);
    }
    expect(hmacCalls()).toBe(2); // busy stayed remembered across 4 s of swaps
    digestOf(idle); // unused for 4 s: computed again
    expect(hmacCalls()).toBe(3);
  });

  it("holds nothing and keeps no timer once every secret went idle", () => {
    const digestOf = createSecretDigestMemo(pepper, { idleMs: 1_000 });
    digestOf(generateSecret());
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(1_000);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("stays bounded: at most two generations of maxEntries", () => {
    const digestOf = createSecretDigestMemo(pepper, { maxEntries: 2 });
    const secrets = [generateSecret(), generateSecret(), generateSecret(), generateSecret(), generateSecret()];
    for (const s of secrets) digestOf(s);
    expect(hmacCalls()).toBe(5);
    digestOf(secrets[4]!);
    digestOf(secrets[3]!);
    expect(hmacCalls()).toBe(5); // the newest two are held
    digestOf(secrets[0]!); // the oldest was dropped
    expect(hmacCalls()).toBe(6);
  });
});
