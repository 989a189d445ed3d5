/**
 * A key revoked on another replica must be refused here within the auth-cache TTL while the
 * database answers (P19; README: "Revocation … take[s] effect … on every other replica within
 * `auth.cacheTtlMs`"). Serving a stale cache entry is reserved for a database outage (README:
 * "While Postgres is unreachable, keys validated in the last 5 minutes keep working").
 *
 * `maxConcurrentLookups` full is not an outage: anyone can fill it without a key, by sending
 * well-formed secrets with a valid checksum (CRC32 is public) that are unknown, so each one is a
 * distinct lookup. The revoked key must then not be served from its stale entry: a cached key's
 * lookup is not subject to that bound (the cache's size bounds it), so it reaches the database.
 */
import { Code } from "@connectrpc/connect";
import { beforeAll, describe, expect, it } from "vitest";
import { createLogCapture } from "../../test/support/log-capture.js";
import { codeOf } from "../../test/support/code-of.js";
import type { KeyStore } from "../store/key-store.js";
import { ALL_ORGS, useAcmeKeys } from "./acme-keys.testing.js";
import { createAuthenticator } from "./authenticator.js";
import { generateSecret } from "./key-format.js";
import { hashSecret } from "./secret-hash.js";

const PEPPER = "authenticator-saturated-test-pepper-0123456789";

const acme = useAcmeKeys(PEPPER);
let store: KeyStore;
beforeAll(() => {
  store = acme.store();
});

describe("authenticator: revocation while key lookups are saturated", () => {
  it("refuses a key revoked elsewhere once its entry is past the TTL, even with every lookup slot taken", async () => {
    const clock = { t: Date.UTC(2030, 0, 1), now: () => clock.t };
    const { secret } = await acme.createKey({ tags: {} }, "leaked");
    const knownHmac = hashSecret(secret, PEPPER);

    // Lookups of the flood's unknown secrets wait in line (a busy pool); the real key's are
    // answered by Postgres at once: the database is reachable throughout.
    let release!: () => void;
    const queue = new Promise<void>((resolve) => (release = resolve));
    const keys: Pick<KeyStore, "findBySecretHmac" | "touchLastUsed"> = {
      async findBySecretHmac(hmac) {
        if (hmac !== knownHmac) await queue;
        return store.findBySecretHmac(hmac);
      },
      touchLastUsed: (id, at, interval) => store.touchLastUsed(id, at, interval),
    };
    const log = createLogCapture();
    const auth = createAuthenticator(
      { keys, pepper: PEPPER, clock, logger: log.logger },
      // No per-address bound: the flood stands for many addresses, each within its burst.
      { cacheTtlMs: 5_000, maxConcurrentLookups: 64, lookupTimeoutMs: 60_000, unknownKeyBurst: 0 },
    );

    expect(await codeOf(auth.authenticate(secret))).toBe("ok"); // cached on this replica

    // Another replica revokes the key (this one is not told).
    await store.revokeKey({ orgName: "acme", teamName: "web", name: "leaked" }, ALL_ORGS, new Date(clock.t));
    clock.t += 6_000; // past the 5 s TTL: the revocation bound is over

    // Unauthenticated callers fill the lookup slots with well-formed unknown secrets.
    const flood = Array.from({ length: 64 }, () => codeOf(auth.authenticate(generateSecret())));

    // The database would say "revoked" if asked; the stale entry must not be served instead.
    expect(await codeOf(auth.authenticate(secret))).not.toBe("ok");

    release();
    expect(await Promise.all(flood)).toEqual(Array(64).fill(Code.Unauthenticated));
  });
});
