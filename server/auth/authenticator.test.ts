import * as crypto from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import fc from "fast-check";
import { beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import { createLogCapture } from "../../test/support/log-capture.js";
import type { KeyRecord, KeyStore } from "../store/key-store.js";
import type { Change } from "../store/locked-change.js";
import { ALL_ORGS, useAcmeKeys } from "./acme-keys.testing.js";
import { createAuthenticator, UNAUTHENTICATED_MESSAGE, type AuthenticatorOptions } from "./authenticator.js";
import { generateSecret, parseSecret } from "./key-format.js";
import { hashSecret } from "./secret-hash.js";
import { codeOf } from "../../test/support/code-of.js";

// Spy on the constant-time comparison the authenticator must use (wrapping the real one).
vi.mock("node:crypto", async (importOriginal) => {
  const actual = await importOriginal<typeof import("node:crypto")>();
  return { ...actual, timingSafeEqual: vi.fn(actual.timingSafeEqual) };
});

const PEPPER = "authenticator-test-pepper-0123456789abcdef";

let store: KeyStore;

/** The real key store with a switch that makes it fail like an unreachable or hung database. */
function faultyStore(real: KeyStore) {
  const state = {
    mode: "up" as "up" | "down" | "hang" | "held",
    lookups: 0,
    /** The last lookup's answer (settled or not). */
    last: Promise.resolve() as Promise<unknown>,
    /** In `held`: the record is read at once and handed over when this resolves. */
    gate: Promise.resolve(),
  };
  const keys: Pick<KeyStore, "findBySecretHmac" | "touchLastUsed"> = {
    findBySecretHmac(hmac) {
      state.lookups++;
      const answer = (async () => {
        if (state.mode === "down") throw new Error("connect ECONNREFUSED 127.0.0.1:5432");
        if (state.mode === "hang") return new Promise<never>(() => undefined);
        if (state.mode === "up") return real.findBySecretHmac(hmac);
        const gate = state.gate;
        const record = await real.findBySecretHmac(hmac);
        await gate;
        return record;
      })();
      state.last = answer.catch(() => undefined);
      return answer;
    },
    touchLastUsed: (id, at, interval) => (state.mode === "up" ? real.touchLastUsed(id, at, interval) : Promise.reject(new Error("down"))),
  };
  return { keys, state };
}

function manualClock(start = Date.UTC(2030, 0, 1)) {
  const clock = { t: start, now: () => clock.t };
  return clock;
}

const acme = useAcmeKeys(PEPPER);
const createKey = acme.createKey;
beforeAll(() => {
  store = acme.store();
});

/** Waits for the last lookup and what the authenticator does with its answer. */
async function settled(state: { last: Promise<unknown> }) {
  await state.last;
  await new Promise((r) => setImmediate(r));
}

function setup(opts: AuthenticatorOptions = {}) {
  const clock = manualClock();
  const faulty = faultyStore(store);
  const log = createLogCapture();
  const auth = createAuthenticator({ keys: faulty.keys, pepper: PEPPER, clock, logger: log.logger }, { cacheTtlMs: 5_000, ...opts });
  return { auth, clock, state: faulty.state, log };
}

describe("authenticator", () => {
  beforeEach(() => {
    vi.mocked(crypto.timingSafeEqual).mockClear();
  });

  it("resolves a key to its principal, comparing the stored hash in constant time", async () => {
    const { auth } = setup();
    const { secret, ref } = await createKey({ scopes: ["SCOPE_INVOKE", "SCOPE_KEYS_READ", "SCOPE_FROM_THE_FUTURE"] });
    const principal = await auth.authenticate(secret);
    expect(principal.keyName).toBe(`orgs/acme/teams/web/keys/${ref.name}`);
    expect([...principal.scopes].sort()).toEqual([Scope.INVOKE, Scope.KEYS_READ]);
    expect(principal.tags).toEqual({ app: "web" });
    expect(principal.orgId).toMatch(/^org_/);
    expect(crypto.timingSafeEqual).toHaveBeenCalled();
  });

  it("answers every failure with one Unauthenticated message; malformed keys never reach the database", async () => {
    const { auth, state } = setup();
    const { secret, ref } = await createKey();
    await store.revokeKey(ref, ALL_ORGS, new Date());
    const unknown = generateSecret();
    const badChecksum = `${unknown.slice(0, -1)}${unknown.endsWith("A") ? "B" : "A"}`;
    const storedHash = hashSecret(unknown, PEPPER);
    for (const candidate of ["", "nonsense", badChecksum, storedHash]) {
      const err = await auth.authenticate(candidate).catch((e: unknown) => ConnectError.from(e));
      expect(err).toMatchObject({ code: Code.Unauthenticated, rawMessage: UNAUTHENTICATED_MESSAGE });
    }
    expect(state.lookups).toBe(0);
    for (const candidate of [unknown, secret]) {
      const err = await auth.authenticate(candidate).catch((e: unknown) => ConnectError.from(e));
      expect(err).toMatchObject({ code: Code.Unauthenticated, rawMessage: UNAUTHENTICATED_MESSAGE });
    }
    expect(state.lookups).toBe(2);
  });

  it("trusts a validated key for the TTL; used in its last fifth, it is looked up again in the background: the revocation bound", async () => {
    const { auth, clock, state } = setup({ cacheTtlMs: 5_000 });
    const { secret, ref } = await createKey();
    await auth.authenticate(secret);
    await store.revokeKey(ref, ALL_ORGS, new Date());
    clock.t += 3_999;
    expect(await codeOf(auth.authenticate(secret))).toBe("ok");
    expect(state.lookups).toBe(1);
    clock.t += 1_000; // 4,999 ms after the lookup: still trusted, and refreshed behind the answer
    expect(await codeOf(auth.authenticate(secret))).toBe("ok");
    expect(state.lookups).toBe(2);
    await settled(state);
    // The refresh saw the revocation: refused before the bound, without another lookup.
    expect(await codeOf(auth.authenticate(secret))).toBe(Code.Unauthenticated);
    clock.t += 1;
    expect(await codeOf(auth.authenticate(secret))).toBe(Code.Unauthenticated);

    // A key not used in the second half is asked for again on the request path at the TTL.
    const idle = await createKey();
    await auth.authenticate(idle.secret);
    const before = state.lookups;
    await store.revokeKey(idle.ref, ALL_ORGS, new Date());
    clock.t += 5_000;
    expect(await codeOf(auth.authenticate(idle.secret))).toBe(Code.Unauthenticated);
    expect(state.lookups).toBe(before + 1);
  });

  it("keeps the revocation bound when the clock steps back: an entry or refusal it cannot age is asked for again", async () => {
    const { auth, clock, state } = setup({ cacheTtlMs: 5_000 });
    const { secret, ref } = await createKey();
    await auth.authenticate(secret);
    await store.revokeKey(ref, ALL_ORGS, new Date());
    clock.t -= 60_000; // NTP steps the clock back a minute: the entry now reads as fetched in the future
    expect(await codeOf(auth.authenticate(secret))).toBe(Code.Unauthenticated);
    expect(state.lookups).toBe(2);
    clock.t += 4_000; // within the refusal's TTL on the new time line: not asked again
    expect(await codeOf(auth.authenticate(secret))).toBe(Code.Unauthenticated);
    expect(state.lookups).toBe(2);
    clock.t -= 60_000; // and a refusal from "the future" is not trusted either
    expect(await codeOf(auth.authenticate(secret))).toBe(Code.Unauthenticated);
    expect(state.lookups).toBe(3);
  });

  it("answers a key in steady use from the cache while one background lookup renews it", async () => {
    // No stale serving and a short lookup timeout: any call that waited for the hung database
    // would fail with Unavailable.
    const { auth, clock, state } = setup({ cacheTtlMs: 5_000, maxStaleMs: 0, lookupTimeoutMs: 100 });
    const { secret } = await createKey();
    await auth.authenticate(secret);
    clock.t += 4_500;
    expect(await codeOf(auth.authenticate(secret))).toBe("ok");
    expect(state.lookups).toBe(2);
    await settled(state);
    // 8,500 ms after the first lookup, 4,000 after the refresh asked: answered from the cache,
    // every concurrent call, while one refresh hangs.
    clock.t += 4_000;
    state.mode = "hang";
    const codes = await Promise.all(Array.from({ length: 20 }, () => codeOf(auth.authenticate(secret))));
    expect(codes).toEqual(Array.from({ length: 20 }, () => "ok"));
    expect(state.lookups).toBe(3);
    // The hung refresh renews nothing: at the TTL since the last answer the call waits, and fails.
    clock.t += 1_000;
    expect(await codeOf(auth.authenticate(secret))).toBe(Code.Unavailable);
  });

  it("looks a key up at most once per four fifths of the TTL, whatever the gaps between its calls (property)", async () => {
    const { secret } = await createKey();
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 7_000 }), { minLength: 1, maxLength: 12 }), async (gaps) => {
        const { auth, clock, state } = setup({ cacheTtlMs: 5_000 });
        let elapsed = 0;
        await auth.authenticate(secret);
        for (const gap of gaps) {
          clock.t += gap;
          elapsed += gap;
          expect(await codeOf(auth.authenticate(secret))).toBe("ok");
          await settled(state);
        }
        expect(state.lookups).toBeLessThanOrEqual(Math.floor(elapsed / 4_000) + 1);
      }),
      { numRuns: 25 },
    );
    // A key that comes back every 0.6 TTL is looked up every other call, as without refresh ahead.
    const { auth, clock, state } = setup({ cacheTtlMs: 5_000 });
    for (let i = 0; i < 10; i++, clock.t += 3_000) {
      await auth.authenticate(secret);
      await settled(state);
    }
    expect(state.lookups).toBe(5);
  });

  it("counts the entry's age from the question its record answers, for a call that joined a refresh in flight", async () => {
    const { auth, clock, state } = setup({ cacheTtlMs: 5_000 });
    const { secret, ref } = await createKey();
    await auth.authenticate(secret);
    let open!: () => void;
    state.gate = new Promise((resolve) => (open = resolve));
    state.mode = "held";
    clock.t += 4_500;
    expect(await codeOf(auth.authenticate(secret))).toBe("ok"); // refresh asked at 4,500
    clock.t += 600; // past the TTL: this call waits for the refresh in flight instead of asking again
    const joined = auth.authenticate(secret);
    open();
    expect(await codeOf(joined)).toBe("ok");
    expect(state.lookups).toBe(2);
    state.mode = "up";
    await store.revokeKey(ref, ALL_ORGS, new Date());
    clock.t += 4_450; // 5,050 ms after the question (4,450 after the joined call)
    expect(await codeOf(auth.authenticate(secret))).toBe(Code.Unauthenticated);
  });

  it("does not cache what a lookup read before this replica forgot the key", async () => {
    const { auth, state } = setup({ cacheTtlMs: 60_000 });
    const { secret, ref } = await createKey();
    let open!: () => void;
    state.gate = new Promise((resolve) => (open = resolve));
    state.mode = "held";
    const first = auth.authenticate(secret);
    await vi.waitFor(() => expect(state.lookups).toBe(1));
    await new Promise((r) => setTimeout(r, 50)); // the query has read the active key
    const principal = (await store.getKey(ref, ALL_ORGS))!;
    await store.revokeKey(ref, ALL_ORGS, new Date());
    auth.forget(principal.id);
    open();
    // The call that started before the revocation may pass; the next ones may not.
    expect(await codeOf(first)).toBe("ok");
    state.mode = "up";
    expect(await codeOf(auth.authenticate(secret))).toBe(Code.Unauthenticated);
    expect(state.lookups).toBe(2);
  });

  it("forgets a key at once when told (revocation on the same replica)", async () => {
    const { auth } = setup();
    const { secret, ref } = await createKey();
    const principal = await auth.authenticate(secret);
    await store.revokeKey(ref, ALL_ORGS, new Date());
    auth.forget(principal.keyId);
    expect(await codeOf(auth.authenticate(secret))).toBe(Code.Unauthenticated);
  });

  it("checks expiry and rotation grace on every use, cached or not", async () => {
    const { auth, clock } = setup({ cacheTtlMs: 60_000 });
    const expiring = await createKey({ expiresAt: new Date(clock.t + 1_000) });
    expect(await codeOf(auth.authenticate(expiring.secret))).toBe("ok");
    clock.t += 1_000;
    expect(await codeOf(auth.authenticate(expiring.secret))).toBe(Code.Unauthenticated);

    const rotated = await createKey();
    const fresh = generateSecret();
    await store.rotateKey(rotated.ref, ALL_ORGS, {
      secret: { secretHmac: hashSecret(fresh, PEPPER), displayPrefix: parseSecret(fresh)!.displayPrefix },
      graceUntil: new Date(clock.t + 2_000),
      now: new Date(clock.t),
    });
    expect(await codeOf(auth.authenticate(rotated.secret))).toBe("ok");
    expect(await codeOf(auth.authenticate(fresh))).toBe("ok");
    clock.t += 2_000;
    expect(await codeOf(auth.authenticate(rotated.secret))).toBe(Code.Unauthenticated);
    expect(await codeOf(auth.authenticate(fresh))).toBe("ok");
  });

  it("during an outage serves recently validated keys, answers Unavailable for the rest, never Unauthenticated", async () => {
    const { auth, clock, state, log } = setup({ cacheTtlMs: 1_000, maxStaleMs: 60_000, outageBackoffMs: 1_000 });
    const seen = await createKey();
    const unseen = await createKey();
    await auth.authenticate(seen.secret);
    state.mode = "down";
    clock.t += 5_000; // past the TTL: the entry is stale, the database is asked and fails
    expect(await codeOf(auth.authenticate(seen.secret))).toBe("ok");
    expect(await codeOf(auth.authenticate(unseen.secret))).toBe(Code.Unavailable);
    expect(await codeOf(auth.authenticate(generateSecret()))).toBe(Code.Unavailable);
    expect(await codeOf(auth.authenticate("garbage"))).toBe(Code.Unauthenticated);
    // Within the backoff nobody waits for the database again.
    expect(state.lookups).toBe(2);
    expect(log.lines().filter((l) => l.msg?.toString().startsWith("key lookups cannot reach"))).toHaveLength(1);
    clock.t += 60_000; // past the stale bound
    expect(await codeOf(auth.authenticate(seen.secret))).toBe(Code.Unavailable);
    state.mode = "up";
    clock.t += 1_000;
    expect(await codeOf(auth.authenticate(seen.secret))).toBe("ok");
    expect(await codeOf(auth.authenticate(unseen.secret))).toBe("ok");
    expect(log.text()).toContain("key lookups reach the database again");
    expect(log.text()).not.toContain(seen.secret);
  });

  it("during an outage still refuses a cached key once it expired, and a rotated-out secret once its grace ended", async () => {
    const { auth, clock, state } = setup({ cacheTtlMs: 1_000, maxStaleMs: 60_000 });
    const expiring = await createKey({ expiresAt: new Date(clock.t + 3_000) });
    const rotated = await createKey();
    const fresh = generateSecret();
    await store.rotateKey(rotated.ref, ALL_ORGS, {
      secret: { secretHmac: hashSecret(fresh, PEPPER), displayPrefix: parseSecret(fresh)!.displayPrefix },
      graceUntil: new Date(clock.t + 3_000),
      now: new Date(clock.t),
    });
    for (const secret of [expiring.secret, rotated.secret, fresh]) expect(await codeOf(auth.authenticate(secret))).toBe("ok");
    state.mode = "down";
    clock.t += 2_000; // past the TTL, within the stale bound: served from the cache
    for (const secret of [expiring.secret, rotated.secret, fresh]) expect(await codeOf(auth.authenticate(secret))).toBe("ok");
    clock.t += 1_000; // the expiry and the grace end, while the database is still unreachable
    expect(await codeOf(auth.authenticate(expiring.secret))).toBe(Code.Unauthenticated);
    expect(await codeOf(auth.authenticate(rotated.secret))).toBe(Code.Unauthenticated);
    expect(await codeOf(auth.authenticate(fresh))).toBe("ok");
  });

  it("fails a lookup beyond maxConcurrentLookups at once, without asking the database", async () => {
    const { auth, state } = setup({ maxConcurrentLookups: 1, lookupTimeoutMs: 5_000 });
    const [a, b] = [await createKey(), await createKey()];
    state.mode = "hang";
    void auth.authenticate(a.secret).catch(() => undefined); // holds the one slot
    const started = performance.now();
    expect(await codeOf(auth.authenticate(b.secret))).toBe(Code.Unavailable);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(state.lookups).toBe(1);
  });

  it("after the outage backoff lets one probe wait for the database while other cached keys are answered at once", async () => {
    const { auth, clock, state } = setup({ cacheTtlMs: 1_000, maxStaleMs: 60_000, outageBackoffMs: 1_000, lookupTimeoutMs: 300 });
    const [a, b] = [await createKey(), await createKey()];
    await auth.authenticate(a.secret);
    await auth.authenticate(b.secret);
    state.mode = "down";
    clock.t += 2_000;
    expect(await codeOf(auth.authenticate(a.secret))).toBe("ok"); // the failed lookup starts the outage
    expect(state.lookups).toBe(3);
    clock.t += 1_000; // the backoff is over: the next call probes
    state.mode = "hang";
    const probe = codeOf(auth.authenticate(a.secret));
    expect(await codeOf(auth.authenticate(b.secret))).toBe("ok"); // not a second probe
    expect(state.lookups).toBe(4);
    expect(await probe).toBe("ok"); // timed out, then served from the cache
    expect(state.lookups).toBe(4);
  });

  it("after an outage whose backoff the clock stepped back over, still probes once the backoff has run on the new time line", async () => {
    const { auth, clock, state } = setup({ cacheTtlMs: 1_000, outageBackoffMs: 1_000 });
    const key = await createKey();
    state.mode = "down";
    expect(await codeOf(auth.authenticate(key.secret))).toBe(Code.Unavailable); // starts the outage
    state.mode = "up";
    clock.t -= 60_000; // the backoff now reads as ending a minute from now
    clock.t += 1_000;
    expect(await codeOf(auth.authenticate(key.secret))).toBe("ok");
    expect(state.lookups).toBe(2);
  });

  it("does not wait longer than the lookup timeout for a hung database", async () => {
    const { auth, clock, state } = setup({ cacheTtlMs: 1_000, lookupTimeoutMs: 150 });
    const seen = await createKey();
    await auth.authenticate(seen.secret);
    state.mode = "hang";
    clock.t += 2_000;
    const started = performance.now();
    expect(await codeOf(auth.authenticate(seen.secret))).toBe("ok");
    expect(await codeOf(auth.authenticate(generateSecret()))).toBe(Code.Unavailable);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it("records last use at most once per interval, off the request path", async () => {
    const { auth, clock } = setup({ cacheTtlMs: 0 });
    const { secret, ref } = await createKey();
    await auth.authenticate(secret);
    const lastUsed = async () => {
      await new Promise((r) => setTimeout(r, 100));
      return (await store.getKey(ref, ALL_ORGS))?.lastUsedAt?.getTime();
    };
    const first = await lastUsed();
    expect(first).toBe(clock.t);
    clock.t += 30_000;
    await auth.authenticate(secret);
    expect(await lastUsed()).toBe(first);
    clock.t += 30_000;
    await auth.authenticate(secret);
    expect(await lastUsed()).toBe(clock.t);
  });
});

describe("authenticator: refused keys", () => {
  // A well-formed secret (the checksum is public CRC32) costs a database lookup when it is not
  // cached; the database's "no usable key" is remembered like its "yes", so a client stuck on a
  // revoked key or anyone repeating one unknown key costs one lookup per TTL, not one per request.

  it("looks a well-formed unknown key up once per TTL however often it comes, and answers exactly as before", async () => {
    const { auth, clock, state } = setup({ cacheTtlMs: 5_000 });
    const unknown = generateSecret();
    const refusal = async () => auth.authenticate(unknown).then(() => "ok", (e: unknown) => ConnectError.from(e));
    const together = await Promise.all(Array.from({ length: 20 }, refusal));
    for (let i = 0; i < 20; i++) together.push(await refusal());
    for (const err of together) expect(err).toMatchObject({ code: Code.Unauthenticated, rawMessage: UNAUTHENTICATED_MESSAGE });
    expect(state.lookups).toBe(1);
    clock.t += 4_999;
    expect(await codeOf(auth.authenticate(unknown))).toBe(Code.Unauthenticated);
    expect(state.lookups).toBe(1);
    clock.t += 1; // the refusal's TTL, counted from its lookup, is over: the database is asked again
    expect(await codeOf(auth.authenticate(unknown))).toBe(Code.Unauthenticated);
    expect(state.lookups).toBe(2);
  });

  it("remembers a revoked or expired key's refusal too, and forgets it at once when the key changes here", async () => {
    const { auth, clock, state } = setup({ cacheTtlMs: 5_000 });
    const revoked = await createKey();
    await store.revokeKey(revoked.ref, ALL_ORGS, new Date(clock.t));
    const expired = await createKey({ expiresAt: new Date(clock.t - 1) });
    for (let i = 0; i < 5; i++) {
      expect(await codeOf(auth.authenticate(revoked.secret))).toBe(Code.Unauthenticated);
      expect(await codeOf(auth.authenticate(expired.secret))).toBe(Code.Unauthenticated);
    }
    expect(state.lookups).toBe(2);
    // UpdateKey on this replica lifts the expiry and forgets the key: it works at once.
    const change = (await store.updateKey(expired.ref, ALL_ORGS, { expiresAt: null }, new Date(clock.t))) as Change<KeyRecord>;
    auth.forget(change.after.id);
    expect(await codeOf(auth.authenticate(expired.secret))).toBe("ok");
    expect(state.lookups).toBe(3);
  });

  it("does not remember a refusal read before this replica forgot the key", async () => {
    const { auth, clock, state } = setup({ cacheTtlMs: 5_000 });
    const expired = await createKey({ expiresAt: new Date(clock.t - 1) });
    let open!: () => void;
    state.gate = new Promise((resolve) => (open = resolve));
    state.mode = "held";
    const first = auth.authenticate(expired.secret);
    await vi.waitFor(() => expect(state.lookups).toBe(1));
    await new Promise((r) => setTimeout(r, 50)); // the query has read the expired key
    const change = (await store.updateKey(expired.ref, ALL_ORGS, { expiresAt: null }, new Date(clock.t))) as Change<KeyRecord>;
    auth.forget(change.after.id);
    open();
    expect(await codeOf(first)).toBe(Code.Unauthenticated); // asked before the change
    state.mode = "up";
    expect(await codeOf(auth.authenticate(expired.secret))).toBe("ok");
  });

  it("lets a key created after its secret was refused work once that refusal's TTL is over", async () => {
    // Only a secret known before its key exists can have been refused: one an operator generated
    // for SWITCHBOARD_BOOTSTRAP_KEY, installed by another replica, or a guess (2^-256 a try).
    const { auth, clock } = setup({ cacheTtlMs: 5_000 });
    const secret = generateSecret();
    expect(await codeOf(auth.authenticate(secret))).toBe(Code.Unauthenticated);
    await createKey({}, undefined, secret);
    clock.t += 4_999;
    expect(await codeOf(auth.authenticate(secret))).toBe(Code.Unauthenticated);
    clock.t += 1;
    expect(await codeOf(auth.authenticate(secret))).toBe("ok");
  });

  it("never remembers a lookup that failed: a key asked for in an outage or beyond the lookup bound works once the database answers", async () => {
    const { auth, clock, state } = setup({ cacheTtlMs: 5_000, outageBackoffMs: 1_000, maxConcurrentLookups: 1 });
    const key = await createKey();
    state.mode = "down";
    expect(await codeOf(auth.authenticate(key.secret))).toBe(Code.Unavailable);
    state.mode = "up";
    clock.t += 1_000;
    expect(await codeOf(auth.authenticate(key.secret))).toBe("ok");

    // The one lookup slot is taken: the next key is Unavailable, then works.
    const other = await createKey();
    let open!: () => void;
    state.gate = new Promise((resolve) => (open = resolve));
    state.mode = "held";
    const holder = codeOf(auth.authenticate(generateSecret()));
    expect(await codeOf(auth.authenticate(other.secret))).toBe(Code.Unavailable);
    open();
    expect(await holder).toBe(Code.Unauthenticated);
    state.mode = "up";
    expect(await codeOf(auth.authenticate(other.secret))).toBe("ok");
  });

  it("keeps at most maxRefusals refusals, least recently used evicted first, apart from the validated keys", async () => {
    // (No per-address bound: these calls carry no address, so they would share one bucket.)
    const { auth, state } = setup({ cacheTtlMs: 5_000, maxEntries: 1, maxRefusals: 2, unknownKeyBurst: 0 });
    const valid = await createKey();
    await auth.authenticate(valid.secret);
    const [u1, u2, u3] = [generateSecret(), generateSecret(), generateSecret()];
    const refuse = async (secret: string, lookups: number) => {
      expect(await codeOf(auth.authenticate(secret))).toBe(Code.Unauthenticated);
      expect(state.lookups).toBe(lookups);
    };
    await refuse(u1, 2);
    await refuse(u2, 3);
    await refuse(u1, 3); // now more recent than u2
    await refuse(u3, 4); // evicts u2
    await refuse(u1, 4);
    await refuse(u3, 4);
    await refuse(u2, 5);
    // A flood of distinct unknown keys evicts only refusals: the validated key is still cached.
    for (let i = 0; i < 20; i++) await codeOf(auth.authenticate(generateSecret()));
    expect(state.lookups).toBe(25);
    expect(await codeOf(auth.authenticate(valid.secret))).toBe("ok");
    expect(state.lookups).toBe(25);
  });
});
