import { beforeAll, describe, expect, it } from "vitest";
import { useMigratedDatabase } from "../../test/support/migrated-database.js";
import { createVerbIdempotencyStore, type ClaimOutcome, type HeldClaim, type VerbIdempotencyStore } from "./verb-idempotency-store.js";

let store: VerbIdempotencyStore;

const database = useMigratedDatabase({ pool: 4 });

beforeAll(async () => {
  store = createVerbIdempotencyStore(database().db);
});

const key = (k: string, fingerprint = "f1") => ({ orgId: "org_a", key: k, method: "Chat", fingerprint });
const opts = { leaseMs: 60_000, retentionMs: 86_400_000 };
const lapse = () => new Promise((resolve) => setTimeout(resolve, 20));

/** The claim an outcome holds; fails the test if the key was not claimed. */
function held(outcome: ClaimOutcome): HeldClaim {
  if (outcome.kind !== "claimed") throw new Error(`expected a claim, got ${outcome.kind}`);
  return outcome.held;
}

describe("verb idempotency store", () => {
  it("lets exactly one of many concurrent claims through", async () => {
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => store.claim(key("race"), opts)));
    expect(outcomes.filter((o) => o.kind === "claimed")).toHaveLength(1);
    expect(outcomes.filter((o) => o.kind === "in_flight")).toHaveLength(9);
  });

  it("says how long a running claim's lease has left, as renewed", async () => {
    const a = held(await store.claim(key("left"), opts));
    const outcome = await store.claim(key("left"), opts);
    expect(outcome.kind).toBe("in_flight");
    const left = outcome.kind === "in_flight" ? outcome.leaseLeftMs : NaN;
    expect(left).toBeGreaterThan(50_000);
    expect(left).toBeLessThanOrEqual(60_000);
    // Renewed for a shorter lease: that is what is left now.
    expect(await store.renew(a, { leaseMs: 2_000 })).toBe(true);
    const renewed = await store.claim(key("left"), opts);
    expect(renewed.kind === "in_flight" ? renewed.leaseLeftMs : NaN).toBeLessThanOrEqual(2_000);
  });

  it("frees a claim nobody renews (its replica died) once the lease it reported has passed", async () => {
    const dead = held(await store.claim(key("dead"), { ...opts, leaseMs: 300 }));
    const refused = await store.claim(key("dead"), opts);
    if (refused.kind !== "in_flight") throw new Error(`expected in_flight, got ${refused.kind}`);
    expect(refused.leaseLeftMs).toBeGreaterThan(0);
    expect(refused.leaseLeftMs).toBeLessThanOrEqual(300);
    // Waiting what it said is enough: the key is taken over at the first try.
    await new Promise((resolve) => setTimeout(resolve, refused.leaseLeftMs));
    const taker = held(await store.claim(key("dead"), opts));
    expect(taker.owner).not.toBe(dead.owner);
  });

  it("returns the stored response, refuses another request, and forgets a released claim", async () => {
    expect(await store.complete(held(await store.claim(key("k1"), opts)), new Uint8Array([1, 2, 3]))).toBe(true);
    expect(await store.claim(key("k1"), opts)).toEqual({ kind: "done", response: new Uint8Array([1, 2, 3]) });
    expect(await store.claim(key("k1", "other"), opts)).toEqual({ kind: "mismatch" });
    expect((await store.claim({ ...key("k1"), orgId: "org_b" }, opts)).kind).toBe("claimed");
    expect(await store.release(held(await store.claim(key("k2"), opts)))).toBe(true);
    expect((await store.claim(key("k2"), opts)).kind).toBe("claimed");
  });

  it("takes over a claim whose lease ran out, and treats records past retention as absent", async () => {
    expect((await store.claim(key("lapsed"), { ...opts, leaseMs: 1 })).kind).toBe("claimed");
    await lapse();
    const taker = held(await store.claim(key("lapsed"), opts));
    expect(await store.claim(key("lapsed"), opts)).toMatchObject({ kind: "in_flight" });
    await store.complete(taker, new Uint8Array([9]));
    await lapse();
    expect((await store.claim(key("lapsed", "new request"), { ...opts, retentionMs: 10 })).kind).toBe("claimed");
    expect(await store.purgeExpired(0)).toBeGreaterThan(0);
  });

  it("drops a late completion or release by a claim whose lease was taken over", async () => {
    // A's call outlives its lease; B takes the key over; A finishes late.
    const a = held(await store.claim(key("late"), { ...opts, leaseMs: 1 }));
    await lapse();
    const b = held(await store.claim(key("late"), opts));
    expect(b.owner).not.toBe(a.owner);
    expect(await store.complete(a, new Uint8Array([1]))).toBe(false);
    // B still holds the key: a repeat is refused, not answered with A's result.
    expect(await store.claim(key("late"), opts)).toMatchObject({ kind: "in_flight" });
    expect(await store.complete(b, new Uint8Array([2]))).toBe(true);
    expect(await store.complete(a, new Uint8Array([1]))).toBe(false);
    expect(await store.claim(key("late"), opts)).toEqual({ kind: "done", response: new Uint8Array([2]) });

    // A fails late: its release must not give back the key B holds (a third call would run).
    const failing = held(await store.claim(key("late-fail"), { ...opts, leaseMs: 1 }));
    await lapse();
    const running = held(await store.claim(key("late-fail"), opts));
    expect(await store.release(failing)).toBe(false);
    expect(await store.claim(key("late-fail"), opts)).toMatchObject({ kind: "in_flight" });
    expect(await store.release(running)).toBe(true);
    expect((await store.claim(key("late-fail"), opts)).kind).toBe("claimed");
  });

  it("renews a lease only for the claim's owner, only while in flight", async () => {
    // A short claim renewed for a minute outlives its first lease: a repeat is still refused.
    const a = held(await store.claim(key("renewed"), { ...opts, leaseMs: 1 }));
    expect(await store.renew(a, opts)).toBe(true);
    await lapse();
    expect(await store.claim(key("renewed"), opts)).toMatchObject({ kind: "in_flight" });
    // Another token renews nothing.
    expect(await store.renew({ ...a, owner: "someone-else" }, opts)).toBe(false);
    expect(await store.complete(a, new Uint8Array([1]))).toBe(true);
    // Done: nothing to renew.
    expect(await store.renew(a, opts)).toBe(false);

    // A claim taken over cannot renew itself back, nor extend the taker's lease.
    const slow = held(await store.claim(key("renew-late"), { ...opts, leaseMs: 1 }));
    await lapse();
    const taker = held(await store.claim(key("renew-late"), { ...opts, leaseMs: 1 }));
    expect(await store.renew(slow, opts)).toBe(false);
    await lapse();
    // The taker's own short lease ran out untouched: a third call may take it over.
    expect((await store.claim(key("renew-late"), opts)).kind).toBe("claimed");
    expect(await store.renew(taker, opts)).toBe(false);

    // Released: nothing to renew.
    const gone = held(await store.claim(key("renew-released"), opts));
    expect(await store.release(gone)).toBe(true);
    expect(await store.renew(gone, opts)).toBe(false);
  });
});
