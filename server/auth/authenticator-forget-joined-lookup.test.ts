/**
 * A key forgotten on this replica (revoked, rotated or changed here) must not come back through
 * a database lookup that was already in flight when it was forgotten: a call made after the
 * revocation that joins that lookup must neither pass nor cache its pre-revocation answer —
 * which, during a Postgres outage, would then be served for `maxStaleMs` (P8, P19; README:
 * "Revocation … take[s] effect at once on the replica that made [it]").
 */
import { Code } from "@connectrpc/connect";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { createLogCapture } from "../../test/support/log-capture.js";
import type { KeyStore } from "../store/key-store.js";
import { ALL_ORGS, useAcmeKeys } from "./acme-keys.testing.js";
import { createAuthenticator } from "./authenticator.js";
import { codeOf } from "../../test/support/code-of.js";

const PEPPER = "authenticator-forget-test-pepper-0123456789";

const acme = useAcmeKeys(PEPPER);
let store: KeyStore;
beforeAll(() => {
  store = acme.store();
});


describe("authenticator: forget() during a lookup in flight", () => {
  it("a call made after the key was forgotten does not pass on, nor cache, the lookup that read it before", async () => {
    const clock = { t: Date.UTC(2030, 0, 1), now: () => clock.t };
    const state = { mode: "held" as "held" | "up" | "down", lookups: 0 };
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const keys: Pick<KeyStore, "findBySecretHmac" | "touchLastUsed"> = {
      async findBySecretHmac(hmac) {
        state.lookups++;
        if (state.mode === "down") throw new Error("connect ECONNREFUSED 127.0.0.1:5432");
        const record = await store.findBySecretHmac(hmac);
        if (state.mode === "held") await gate;
        return record;
      },
      touchLastUsed: async () => undefined,
    };
    const auth = createAuthenticator(
      { keys, pepper: PEPPER, clock, logger: createLogCapture().logger },
      { cacheTtlMs: 5_000, maxStaleMs: 300_000, outageBackoffMs: 1_000 },
    );

    const { secret } = await acme.createKey({ tags: {} }, "k1");
    const ref = { orgName: "acme", teamName: "web", name: "k1" };

    // A call starts a lookup; the query reads the active key, then its answer is held.
    const first = auth.authenticate(secret);
    await vi.waitFor(() => expect(state.lookups).toBe(1));
    await new Promise((r) => setTimeout(r, 50));
    // The key is revoked on this replica: KeyService commits, then forgets it here.
    const principal = (await store.getKey(ref, ALL_ORGS))!;
    await store.revokeKey(ref, ALL_ORGS, new Date(clock.t));
    auth.forget(principal.id);

    // A call made after the revocation (while the old query is still in flight).
    const after = auth.authenticate(secret);
    open();
    expect(await codeOf(first)).toBe("ok"); // started before the revocation: may pass
    state.mode = "up";
    expect(await codeOf(after)).toBe(Code.Unauthenticated);

    // And nothing stale was cached: a Postgres outage right after must not bring the key back.
    state.mode = "down";
    clock.t += 6_000; // past the TTL, well within maxStaleMs
    expect(await codeOf(auth.authenticate(secret))).not.toBe("ok");
  });
});
