/**
 * There is always a way in: KeyService refuses (`failed_precondition`) a revoke or an update that
 * would leave the installation without an active platform-admin key that never expires, on any
 * replica, however the calls interleave. Two gateways share one Postgres, as two replicas.
 */
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyState } from "../../gen/ts/switchboard/v1/key_service_pb.js";
import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import { clientsFor, outcome } from "../../test/support/clients.js";
import { startTestGateway, type TestGateway } from "../../test/support/gateway.js";
import { createTestDatabase, type TestDatabase } from "../../test/support/postgres.js";
import { BOOTSTRAP_KEY_NAME } from "../auth/bootstrap.js";
import { generateSecret } from "../auth/key-format.js";
import { ALL_SCOPES } from "../auth/scopes.js";

let database: TestDatabase;
let a: TestGateway;
let b: TestGateway;
let bootstrapSecret: string;

beforeAll(async () => {
  database = await createTestDatabase();
  bootstrapSecret = generateSecret();
  const shared = { databaseUrl: database.url, adminKey: bootstrapSecret };
  a = await startTestGateway(shared);
  b = await startTestGateway(shared);
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await database?.drop();
});

/** Creates a platform-admin key (every scope) in `orgs/system/teams/admins`; its name and secret. */
async function createAdminKey(callerSecret: string, keyId: string, expireTime?: number) {
  const { key, secret } = await clientsFor(a.url, callerSecret).keys.createKey({
    parent: "orgs/system/teams/admins",
    keyId,
    key: { scopes: [...ALL_SCOPES], ...(expireTime === undefined ? {} : { expireTime: timestampFromMs(expireTime) }) },
  });
  return { name: key!.name, secret };
}

/** The error a call failed with. */
async function failure(call: Promise<unknown>): Promise<ConnectError> {
  return call.then(
    () => expect.fail("the call succeeded"),
    (err: unknown) => ConnectError.from(err),
  );
}

describe("the last platform-admin key", () => {
  it("cannot be revoked, and keeps working", async () => {
    const admin = clientsFor(a.url, bootstrapSecret);
    const err = await failure(admin.keys.revokeKey({ name: BOOTSTRAP_KEY_NAME }));
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(err.rawMessage).toMatch(/last active platform-admin key without an expiry.*create another platform-admin key first$/);
    for (const gw of [a, b]) {
      const { key } = await clientsFor(gw.url, bootstrapSecret).keys.getKey({ name: BOOTSTRAP_KEY_NAME });
      expect(key?.state).toBe(KeyState.ACTIVE);
    }
  });

  it("cannot lose SCOPE_PLATFORM_ADMIN or be given an expiry, unless another admin key never expires", async () => {
    const admin = clientsFor(a.url, bootstrapSecret);
    const dropAdmin = () =>
      admin.keys.updateKey({
        key: { name: BOOTSTRAP_KEY_NAME, scopes: ALL_SCOPES.filter((s) => s !== Scope.PLATFORM_ADMIN) },
        updateMask: { paths: ["scopes"] },
      });
    const expire = () =>
      admin.keys.updateKey({
        key: { name: BOOTSTRAP_KEY_NAME, expireTime: timestampFromMs(Date.now() + 3_600_000) },
        updateMask: { paths: ["expire_time"] },
      });
    expect(await outcome(dropAdmin())).toBe("FailedPrecondition");
    expect(await outcome(expire())).toBe("FailedPrecondition");
    // An admin key that expires is no way in once it lapses: it does not make the change safe.
    const lapsing = await createAdminKey(bootstrapSecret, "lapsing", Date.now() + 3_600_000);
    expect(await outcome(expire())).toBe("FailedPrecondition");
    expect(await outcome(dropAdmin())).toBe("FailedPrecondition");
    const { key } = await admin.keys.getKey({ name: BOOTSTRAP_KEY_NAME });
    expect(key?.scopes).toContain(Scope.PLATFORM_ADMIN);
    expect(key?.expireTime).toBeUndefined();
    // With another admin key that never expires, both changes are allowed.
    const spare = await createAdminKey(bootstrapSecret, "spare");
    expect(await outcome(expire())).toBe("ok");
    // Lifting that expiry again takes a key that never expires: one with an expiry cannot lift its own.
    const lift = (secret: string) =>
      clientsFor(a.url, secret).keys.updateKey({ key: { name: BOOTSTRAP_KEY_NAME }, updateMask: { paths: ["expire_time"] } });
    expect(await outcome(lift(bootstrapSecret))).toBe("PermissionDenied");
    expect(await outcome(lift(spare.secret))).toBe("ok");
    // Back to one: the spare and the lapsing key go, revoked by the bootstrap key.
    expect(await outcome(admin.keys.revokeKey({ name: spare.name }))).toBe("ok");
    expect(await outcome(admin.keys.revokeKey({ name: lapsing.name }))).toBe("ok");
    expect(await outcome(admin.keys.revokeKey({ name: BOOTSTRAP_KEY_NAME }))).toBe("FailedPrecondition");
  });

  it("survives concurrent revokes of the last two admin keys on two replicas: exactly one succeeds", async () => {
    // Hand over from the bootstrap key to p0, then race: the survivor and a fresh admin key each
    // revoke themselves at once, one on each replica.
    let survivor = await createAdminKey(bootstrapSecret, "p0");
    expect(await outcome(clientsFor(a.url, survivor.secret).keys.revokeKey({ name: BOOTSTRAP_KEY_NAME }))).toBe("ok");
    for (let round = 1; round <= 6; round++) {
      const fresh = await createAdminKey(survivor.secret, `p${round}`);
      const [first, second] = round % 2 === 0 ? [survivor, fresh] : [fresh, survivor];
      const results = await Promise.all([
        outcome(clientsFor(a.url, first.secret).keys.revokeKey({ name: first.name })),
        outcome(clientsFor(b.url, second.secret).keys.revokeKey({ name: second.name })),
      ]);
      expect([...results].sort()).toEqual(["FailedPrecondition", "ok"]);
      survivor = results[0] === "ok" ? second : first;
      const { keys } = await clientsFor(b.url, survivor.secret).keys.listKeys({ parent: "orgs/system/teams/admins" });
      expect(keys.filter((k) => k.scopes.includes(Scope.PLATFORM_ADMIN)).map((k) => k.name)).toEqual([survivor.name]);
    }
  });
});
