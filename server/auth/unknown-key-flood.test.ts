/**
 * A flood of well-formed random keys — anyone can make them: the checksum is a public CRC32 —
 * must neither cost the database a lookup each nor starve callers with real keys (README, "Keys
 * and scopes": "Unknown keys"). Lookups are counted as the SQL statements the real key store
 * sends (a kysely plugin sees each one compiled), not as calls to a stand-in.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { SelectQueryNode, type KyselyPlugin } from "kysely";
import { beforeAll, describe, expect, it } from "vitest";
import { createLogCapture } from "../../test/support/log-capture.js";
import { codeOf } from "../../test/support/code-of.js";
import { useMigratedDatabase } from "../../test/support/migrated-database.js";
import { retryInfoMs } from "../errors/retry-info.js";
import { createKeyStore, type KeyStore } from "../store/key-store.js";
import { createTenantStore } from "../store/tenant-store.js";
import { createAuthenticator, type AuthenticatorOptions } from "./authenticator.js";
import type { ClientAddress } from "./client-address.js";
import { generateSecret, parseSecret } from "./key-format.js";
import { hashSecret } from "./secret-hash.js";

const PEPPER = "authenticator-flood-test-pepper-0123456789ab";
const ALL_ORGS = { allOrgs: true } as const;
const ATTACKER = "203.0.113.7";
const CALLER = "198.51.100.20";

const database = useMigratedDatabase();
/** SQL statements that looked a secret up (`keys.secret_hmac = …`), as sent to Postgres. */
const sent = { lookups: 0 };
let store: KeyStore;
let named = 0;

beforeAll(async () => {
  const counter: KyselyPlugin = {
    transformQuery({ node }) {
      if (SelectQueryNode.is(node) && JSON.stringify(node.where ?? null).includes('"secret_hmac"')) sent.lookups++;
      return node;
    },
    transformResult: async ({ result }) => result,
  };
  store = createKeyStore(database().db.withPlugin(counter));
  const tenants = createTenantStore(database().db);
  await tenants.createOrg("acme", { displayName: "Acme", labels: {} });
  await tenants.createTeam("acme", "web", ALL_ORGS, { displayName: "Web", labels: {} });
});

async function createKey(): Promise<string> {
  const secret = generateSecret();
  const outcome = await store.createKey(
    { orgName: "acme", teamName: "web" },
    `k${++named}`,
    ALL_ORGS,
    { displayName: "", scopes: ["SCOPE_INVOKE"], allowedRoutes: [], allowedModels: [], tags: {}, expiresAt: null },
    { secretHmac: hashSecret(secret, PEPPER), displayPrefix: parseSecret(secret)!.displayPrefix },
  );
  expect(outcome.kind).toBe("created");
  return secret;
}

function setup(opts: AuthenticatorOptions = {}, keys: Pick<KeyStore, "findBySecretHmac" | "touchLastUsed"> = store) {
  const clock = { t: Date.UTC(2030, 0, 1), now: () => clock.t };
  const log = createLogCapture();
  const auth = createAuthenticator({ keys, pepper: PEPPER, clock, logger: log.logger }, { cacheTtlMs: 5_000, ...opts });
  return { auth, clock, log };
}

/** How each of `secrets`, presented from `address` 50 at a time, was answered. */
async function flood(auth: ReturnType<typeof setup>["auth"], secrets: string[], address: ClientAddress | string | undefined): Promise<Array<Code | "ok">> {
  const codes: Array<Code | "ok"> = [];
  for (let i = 0; i < secrets.length; i += 50) codes.push(...(await Promise.all(secrets.slice(i, i + 50).map((s) => codeOf(auth.authenticate(s, address))))));
  return codes;
}

const randomKeys = (n: number): string[] => Array.from({ length: n }, () => generateSecret());
const count = <T>(items: T[], item: T): number => items.filter((x) => x === item).length;

describe("authenticator: a flood of unknown well-formed keys", () => {
  it("1 000 random keys from one address cost the database at most the burst (20) lookups; the rest are ResourceExhausted with RetryInfo", async () => {
    const { auth } = setup();
    const before = sent.lookups;
    const codes = await flood(auth, randomKeys(1_000), ATTACKER);
    expect(sent.lookups - before).toBeLessThanOrEqual(20);
    expect(count(codes, Code.Unauthenticated)).toBe(sent.lookups - before);
    expect(count(codes, Code.ResourceExhausted)).toBe(1_000 - (sent.lookups - before));

    const refused = await auth.authenticate(generateSecret(), ATTACKER).catch((err: unknown) => ConnectError.from(err));
    expect(refused).toBeInstanceOf(ConnectError);
    expect((refused as ConnectError).code).toBe(Code.ResourceExhausted);
    // One token a second at the default 60 a minute.
    expect(retryInfoMs(refused as ConnectError)).toBeGreaterThan(0);
    expect(retryInfoMs(refused as ConnectError)).toBeLessThanOrEqual(1_000);
  });

  it("a valid key this replica never saw authenticates from another address while one address floods a slow database", async () => {
    const valid = await createKey();
    const validHmac = hashSecret(valid, PEPPER);
    // The flood's lookups wait in line (a busy pool), the real key's are answered at once.
    let release!: () => void;
    const queue = new Promise<void>((resolve) => (release = resolve));
    const keys: Pick<KeyStore, "findBySecretHmac" | "touchLastUsed"> = {
      async findBySecretHmac(hmac) {
        if (hmac !== validHmac) await queue;
        return store.findBySecretHmac(hmac);
      },
      touchLastUsed: (id, at, interval) => store.touchLastUsed(id, at, interval),
    };
    const { auth } = setup({ maxConcurrentLookups: 64, lookupTimeoutMs: 60_000 }, keys);

    const garbage = randomKeys(200).map((s) => codeOf(auth.authenticate(s, ATTACKER)));
    expect(await codeOf(auth.authenticate(valid, CALLER))).toBe("ok");

    release();
    const codes = await Promise.all(garbage);
    expect(count(codes, Code.Unauthenticated)).toBeLessThanOrEqual(20);
    expect(count(codes, Code.ResourceExhausted)).toBeGreaterThanOrEqual(180);
  });

  it("a throttled address gets a token back each second and its whole burst after 20 s; a cached key works from it throughout", async () => {
    const { auth, clock } = setup();
    const cachedKey = await createKey();
    const newKey = await createKey();
    expect(await codeOf(auth.authenticate(cachedKey, ATTACKER))).toBe("ok");
    await flood(auth, randomKeys(100), ATTACKER);
    expect(await codeOf(auth.authenticate(generateSecret(), ATTACKER))).toBe(Code.ResourceExhausted);
    // A key in the cache needs no lookup: the throttle never sees it.
    const lookups = sent.lookups;
    expect(await codeOf(auth.authenticate(cachedKey, ATTACKER))).toBe("ok");
    expect(sent.lookups).toBe(lookups);
    // A key it has no entry for waits, like any secret, for a token.
    expect(await codeOf(auth.authenticate(newKey, ATTACKER))).toBe(Code.ResourceExhausted);

    clock.t += 1_000;
    expect(await codeOf(auth.authenticate(newKey, ATTACKER))).toBe("ok");
    // It found a key, so its token came back: one more unknown secret is looked up, not two.
    expect(await flood(auth, randomKeys(2), ATTACKER)).toEqual([Code.Unauthenticated, Code.ResourceExhausted]);

    clock.t += 20_000;
    const before = sent.lookups;
    const codes = await flood(auth, randomKeys(30), ATTACKER);
    expect(count(codes, Code.Unauthenticated)).toBe(20);
    expect(sent.lookups - before).toBe(20);
  });

  it("calls that join a lookup already in flight take no token: 50 at once with one new key from one address all pass", async () => {
    const { auth } = setup();
    const key = await createKey();
    const before = sent.lookups;
    const codes = await Promise.all(Array.from({ length: 50 }, () => codeOf(auth.authenticate(key, CALLER))));
    expect(codes).toEqual(Array(50).fill("ok"));
    expect(sent.lookups - before).toBe(1);
    // And the same unknown secret 50 times at once is one lookup, one token.
    const unknown = generateSecret();
    expect(count(await Promise.all(Array.from({ length: 50 }, () => codeOf(auth.authenticate(unknown, ATTACKER)))), Code.Unauthenticated)).toBe(50);
    expect(count(await flood(auth, randomKeys(20), ATTACKER), Code.Unauthenticated)).toBe(19);
  });

  it("a lookup that finds a key gives its token back: a client stuck on a revoked key is never throttled for it", async () => {
    const { auth, clock } = setup({ unknownKeyBurst: 3, unknownKeysPerMinute: 1 });
    const revoked = await createKey();
    await store.revokeKey({ orgName: "acme", teamName: "web", name: `k${named}` }, ALL_ORGS, new Date(clock.t));
    for (let i = 0; i < 10; i++) {
      expect(await codeOf(auth.authenticate(revoked, ATTACKER))).toBe(Code.Unauthenticated);
      clock.t += 5_000; // past the refusal's TTL: each is looked up again
    }
    // Its three tokens are all there (a minute a token would have put back only one).
    expect(await flood(auth, randomKeys(4), ATTACKER)).toEqual([Code.Unauthenticated, Code.Unauthenticated, Code.Unauthenticated, Code.ResourceExhausted]);
  });

  it("counts calls whose address is unknown (none, or empty) too, all under one shared address", async () => {
    const { auth } = setup({ unknownKeyBurst: 3 });
    const before = sent.lookups;
    const codes = await flood(auth, randomKeys(100), undefined);
    expect(count(codes, Code.Unauthenticated)).toBe(3);
    expect(count(codes, Code.ResourceExhausted)).toBe(97);
    // An empty address (a socket whose peer could not be read) shares that bucket, now empty.
    expect(await flood(auth, randomKeys(2), "")).toEqual([Code.ResourceExhausted, Code.ResourceExhausted]);
    expect(await codeOf(auth.authenticate(generateSecret(), { address: "", forwardedForIgnored: false }))).toBe(Code.ResourceExhausted);
    expect(sent.lookups - before).toBe(3);
    // A known address has its own.
    expect(await codeOf(auth.authenticate(generateSecret(), CALLER))).toBe(Code.Unauthenticated);
  });

  it("a throttled call that carried x-forwarded-for from an untrusted peer logs one warning a minute naming SWITCHBOARD_TRUSTED_PROXIES", async () => {
    const { auth, clock, log } = setup({ unknownKeyBurst: 2 });
    const proxied: ClientAddress = { address: ATTACKER, forwardedForIgnored: true };
    const warnings = () => log.lines().filter((l) => l.level === "warn" && String(l.msg).includes("SWITCHBOARD_TRUSTED_PROXIES"));
    // Calls let through, and throttled ones without the header, say nothing.
    await flood(auth, randomKeys(2), proxied);
    await flood(auth, randomKeys(5), ATTACKER);
    expect(warnings()).toHaveLength(0);
    expect(count(await flood(auth, randomKeys(10), proxied), Code.ResourceExhausted)).toBe(10);
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toMatchObject({ peer: ATTACKER });
    clock.t += 59_000;
    await flood(auth, randomKeys(3), proxied);
    expect(warnings()).toHaveLength(1);
    clock.t += 1_000;
    await flood(auth, randomKeys(3), proxied);
    expect(warnings()).toHaveLength(2);
  });

  it("counts an IPv6 client by its /64 and an IPv4-mapped address as its IPv4 one; a burst of 0 turns the throttle off", async () => {
    const { auth } = setup({ unknownKeyBurst: 2 });
    expect(await codeOf(auth.authenticate(generateSecret(), "2001:db8:1:2::1"))).toBe(Code.Unauthenticated);
    expect(await codeOf(auth.authenticate(generateSecret(), "2001:db8:1:2:ffff::9"))).toBe(Code.Unauthenticated);
    expect(await codeOf(auth.authenticate(generateSecret(), "2001:0db8:0001:0002:0:0:0:7"))).toBe(Code.ResourceExhausted);
    expect(await codeOf(auth.authenticate(generateSecret(), "2001:db8:1:3::1"))).toBe(Code.Unauthenticated);

    await flood(auth, randomKeys(2), "192.0.2.1");
    expect(await codeOf(auth.authenticate(generateSecret(), "::ffff:192.0.2.1"))).toBe(Code.ResourceExhausted);

    const off = setup({ unknownKeyBurst: 0 }).auth;
    const before = sent.lookups;
    expect(count(await flood(off, randomKeys(60), ATTACKER), Code.Unauthenticated)).toBe(60);
    expect(sent.lookups - before).toBe(60);
  });
});
