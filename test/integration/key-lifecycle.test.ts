/**
 * A virtual key's life through two gateways sharing one Postgres (two replicas): create → use →
 * rotate → both secrets in the grace period → old refused after it → revoke → refused on the
 * other replica within the auth-cache TTL. Plus HMAC-only storage and idempotent creates.
 */
import { durationFromMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CapabilityService } from "../../gen/ts/switchboard/v1/capability_service_pb.js";
import { KeyState } from "../../gen/ts/switchboard/v1/key_service_pb.js";
import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import { generateSecret } from "../../server/auth/key-format.js";
import { hashSecret } from "../../server/auth/secret-hash.js";
import { clientsFor, outcome, type KeyedClients } from "../support/clients.js";
import { startTestGateway, TEST_PEPPER, type TestGateway } from "../support/gateway.js";
import { createTestDatabase, type TestDatabase } from "../support/postgres.js";

const TTL_MS = 1_000;

/** Both replicas read this clock; a test moves it forward instead of sleeping through a grace period. */
const clock = { offset: 0, now: () => Date.now() + clock.offset };

let database: TestDatabase;
let a: TestGateway;
let b: TestGateway;
let adminA: KeyedClients;

beforeAll(async () => {
  database = await createTestDatabase();
  const adminKey = generateSecret();
  const shared = { databaseUrl: database.url, adminKey, clock, auth: { cacheTtlMs: TTL_MS } };
  a = await startTestGateway(shared);
  b = await startTestGateway(shared);
  adminA = clientsFor(a.url, adminKey);
  await adminA.tenants.createOrg({ orgId: "acme", org: { displayName: "Acme" } });
  await adminA.tenants.createTeam({ parent: "orgs/acme", teamId: "web", team: { displayName: "Web" } });
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await database?.drop();
});

async function dumpKeysTable(): Promise<string> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    const { rows } = await client.query("select row_to_json(k)::text as row from keys k");
    return rows.map((r: { row: string }) => r.row).join("\n");
  } finally {
    await client.end();
  }
}

describe("key lifecycle across two replicas", () => {
  it("create → use → rotate → grace → revoke, with every replica agreeing", async () => {
    const created = await adminA.keys.createKey({
      parent: "orgs/acme/teams/web",
      keyId: "checkout",
      key: { displayName: "Checkout", scopes: [Scope.INVOKE], tags: { app: "checkout" } },
    });
    const first = created.secret;
    expect(first).toMatch(/^sb_live_[0-9A-Za-z]{49}$/);
    expect(created.key).toMatchObject({
      name: "orgs/acme/teams/web/keys/checkout",
      displayPrefix: first.slice(0, 12),
      state: KeyState.ACTIVE,
      scopes: [Scope.INVOKE],
    });
    expect(await clientsFor(a.url, first).probe()).toBe("ok");
    expect(await clientsFor(b.url, first).probe()).toBe("ok");

    // Rotate with a 10-minute grace: both secrets work on both replicas.
    const rotated = await adminA.keys.rotateKey({ name: created.key!.name, gracePeriod: durationFromMs(600_000) });
    const second = rotated.secret;
    expect(second).not.toBe(first);
    expect(rotated.key?.previousSecretExpireTime).toBeDefined();
    for (const gw of [a, b]) {
      expect(await clientsFor(gw.url, first).probe()).toBe("ok");
      expect(await clientsFor(gw.url, second).probe()).toBe("ok");
    }

    // After the grace period the old secret is refused everywhere, the new one keeps working.
    clock.offset += 600_000;
    for (const gw of [a, b]) {
      expect(await clientsFor(gw.url, first).probe()).toBe("Unauthenticated");
      expect(await clientsFor(gw.url, second).probe()).toBe("ok");
    }

    // Revoke on A: refused on A at once, and on B (which has it cached) within the TTL.
    expect(await clientsFor(b.url, second).probe()).toBe("ok");
    const revoked = await adminA.keys.revokeKey({ name: created.key!.name });
    const revokedAt = performance.now();
    expect(revoked.key?.state).toBe(KeyState.REVOKED);
    expect(await clientsFor(a.url, second).probe()).toBe("Unauthenticated");
    const onB = clientsFor(b.url, second);
    while ((await onB.probe()) === "ok") {
      expect(performance.now() - revokedAt).toBeLessThan(TTL_MS + 500);
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(performance.now() - revokedAt).toBeLessThanOrEqual(TTL_MS + 500);
    expect(await onB.probe()).toBe("Unauthenticated");

    // Rotating a revoked key is refused; the key reads as revoked on both replicas.
    expect(await outcome(adminA.keys.rotateKey({ name: created.key!.name }))).toBe("FailedPrecondition");
    const fromB = await clientsFor(b.url, a.adminKey).keys.getKey({ name: created.key!.name });
    expect(fromB.key?.state).toBe(KeyState.REVOKED);
    expect(fromB.key?.lastUsedTime).toBeDefined();
  });

  it("stores only HMACs: no secret in any row, the stored hash and another pepper do not authenticate", async () => {
    const { secret, key } = await adminA.keys.createKey({ parent: "orgs/acme/teams/web", key: { scopes: [Scope.INVOKE] } });
    const dump = await dumpKeysTable();
    expect(dump).not.toContain(secret);
    expect(dump).not.toContain(secret.slice(12)); // not even the part after the display prefix
    expect(dump).toContain(hashSecret(secret, TEST_PEPPER));
    expect(dump).toContain(key!.displayPrefix);
    expect(await clientsFor(a.url, hashSecret(secret, TEST_PEPPER)).probe()).toBe("Unauthenticated");
    const otherPepper = await startTestGateway({ databaseUrl: database.url, pepper: "another-pepper-0123456789abcdef-012345", noBootstrap: true });
    try {
      expect(await clientsFor(otherPepper.url, secret).probe()).toBe("Unauthenticated");
    } finally {
      await otherPepper.close();
    }
  });

  it("refuses missing, malformed, unknown and expired keys alike", async () => {
    const message = async (secret: string | undefined) => {
      const capability =
        secret === undefined
          ? createClient(CapabilityService, createGrpcTransport({ baseUrl: a.url }))
          : clientsFor(a.url, secret).capability;
      return capability.summarize({ text: "x" }).then(
        () => "ok",
        (e: unknown) => `${ConnectError.from(e).code}:${ConnectError.from(e).rawMessage}`,
      );
    };
    const expiring = await adminA.keys.createKey({
      parent: "orgs/acme/teams/web",
      key: { scopes: [Scope.INVOKE], expireTime: timestampFromMs(clock.now() + 60_000) },
    });
    expect(await clientsFor(a.url, expiring.secret).probe()).toBe("ok");
    clock.offset += 60_000;
    const got = await Promise.all([undefined, "not-a-key", generateSecret(), expiring.secret].map(message));
    expect(new Set(got).size).toBe(1);
    expect(got[0]).toMatch(/^16:missing or invalid API key/);
    const read = await adminA.keys.getKey({ name: expiring.key!.name });
    expect(read.key?.state).toBe(KeyState.EXPIRED);
  });

  it("repeats a create with the same request_id without a second key or a second secret", async () => {
    const request = { parent: "orgs/acme/teams/web", key: { scopes: [Scope.INVOKE] }, requestId: "req-create-1" };
    const [one, two] = await Promise.all([adminA.keys.createKey(request), clientsFor(b.url, a.adminKey).keys.createKey(request)]);
    expect(one.key?.name).toBe(two.key?.name);
    const secrets = [one.secret, two.secret].filter((s) => s !== "");
    expect(secrets).toHaveLength(1);
    expect(await clientsFor(a.url, secrets[0]!).probe()).toBe("ok");
    const again = await adminA.keys.createKey(request);
    expect(again).toMatchObject({ secret: "", key: { name: one.key?.name } });
    const listed = await adminA.keys.listKeys({ parent: "orgs/acme/teams/web" });
    expect(listed.keys.filter((k) => k.name === one.key?.name)).toHaveLength(1);
    // The same request_id with a different request is refused.
    const other = { ...request, key: { scopes: [Scope.INVOKE], displayName: "different" } };
    expect(await outcome(adminA.keys.createKey(other))).toBe("FailedPrecondition");

    // RotateKey: a repeat returns the key, no new secret, and the first rotation's secret stays current.
    const rotate = { name: one.key!.name, requestId: "req-rotate-1" };
    const rotated = await adminA.keys.rotateKey(rotate);
    const repeat = await adminA.keys.rotateKey(rotate);
    expect(repeat.secret).toBe("");
    expect(await clientsFor(a.url, rotated.secret).probe()).toBe("ok");
  });
});
