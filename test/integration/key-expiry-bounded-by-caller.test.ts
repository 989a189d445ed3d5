/**
 * A key's expiry is part of what it holds (README "Tenant isolation"): a caller whose key expires
 * at T creates, changes, rotates and revokes only keys that expire by T, and leaves them so; a
 * rotation's grace ends by T too. Otherwise a temporary key administrator (a contractor's, an
 * incident's) lifts its own expiry, or mints or takes over a successor that never expires.
 * Platform admins are bound alike; a key without an expiry (the bootstrap key) is not bound.
 */
import { durationFromMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import { BOOTSTRAP_KEY_NAME } from "../../server/auth/bootstrap.js";
import { ALL_SCOPES } from "../../server/auth/scopes.js";
import { clientsFor, outcome, type KeyedClients } from "../support/clients.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";

const KEY_ADMIN = [Scope.KEYS_READ, Scope.KEYS_WRITE, Scope.INVOKE];
const HOUR = 3_600_000;
const mask = (...paths: string[]) => ({ paths });

let gw: TestGateway;
let platform: KeyedClients;
/** When the temporary callers' keys expire: an hour after the suite starts, whole seconds. */
let T: number;

beforeAll(async () => {
  gw = await startTestGateway();
  platform = clientsFor(gw.url, gw.adminKey);
  await platform.tenants.createOrg({ orgId: "acme", org: {} });
  await platform.tenants.createTeam({ parent: "orgs/acme", teamId: "web", team: {} });
  T = Math.ceil((Date.now() + HOUR) / 1_000) * 1_000;
});
afterAll(async () => {
  await gw?.close();
});

/** A key the bootstrap key creates: its name and clients that call with it. */
async function keyOf(parent: string, keyId: string, scopes: Scope[], expireTime?: number) {
  const { key, secret } = await platform.keys.createKey({
    parent,
    keyId,
    key: { scopes, ...(expireTime === undefined ? {} : { expireTime: timestampFromMs(expireTime) }) },
  });
  return { name: key!.name, prefix: key!.displayPrefix, as: clientsFor(gw.url, secret) };
}

/** The error a call failed with. */
async function failure(call: Promise<unknown>): Promise<ConnectError> {
  return call.then(
    () => expect.fail("the call succeeded"),
    (err: unknown) => ConnectError.from(err),
  );
}

/** The refusal's message for a key that would outlive the caller's, expiring at `T`. */
const outlives = (action: string) =>
  `${action}: expire_time must be set and no later than the calling key's expire_time (${new Date(T).toISOString()})`;

/** A key's expire_time in ms as the bootstrap key reads it; undefined: never. */
async function expiryOf(name: string): Promise<number | undefined> {
  const { key } = await platform.keys.getKey({ name });
  return key?.expireTime === undefined ? undefined : Number(key.expireTime.seconds) * 1_000 + key.expireTime.nanos / 1e6;
}

describe("a key administrator whose key expires", () => {
  it("cannot lift or extend its own expiry, only shorten it", async () => {
    const temp = await keyOf("orgs/acme/teams/web", "contractor", KEY_ADMIN, T);
    const lift = await failure(temp.as.keys.updateKey({ key: { name: temp.name }, updateMask: mask("expire_time") }));
    expect([lift.code, lift.rawMessage]).toEqual([Code.PermissionDenied, outlives("UpdateKey")]);
    const extend = temp.as.keys.updateKey({ key: { name: temp.name, expireTime: timestampFromMs(T + HOUR) }, updateMask: mask("expire_time") });
    expect(await outcome(extend)).toBe("PermissionDenied");
    expect(await expiryOf(temp.name)).toBe(T);
    const shorten = temp.as.keys.updateKey({ key: { name: temp.name, expireTime: timestampFromMs(T - 60_000) }, updateMask: mask("expire_time") });
    expect(await outcome(shorten)).toBe("ok");
    expect(await expiryOf(temp.name)).toBe(T - 60_000);
  });

  it("cannot mint a key without an expiry, or one that outlives its own", async () => {
    const temp = await keyOf("orgs/acme/teams/web", "incident", KEY_ADMIN, T);
    const create = (expireTime?: number) =>
      temp.as.keys.createKey({
        parent: "orgs/acme/teams/web",
        key: { scopes: KEY_ADMIN, ...(expireTime === undefined ? {} : { expireTime: timestampFromMs(expireTime) }) },
      });
    const forever = await failure(create());
    expect([forever.code, forever.rawMessage]).toEqual([Code.PermissionDenied, outlives("CreateKey")]);
    expect(await outcome(create(T + 1_000))).toBe("PermissionDenied");
    expect(await outcome(create(T))).toBe("ok");
    expect(await outcome(create(T - 60_000))).toBe("ok");
  });

  it("cannot take over, change or revoke a key that outlives its own, though it holds that key's scopes", async () => {
    const temp = await keyOf("orgs/acme/teams/web", "temp-admin", KEY_ADMIN, T);
    for (const [keyId, expiry] of [
      ["app-forever", undefined],
      ["app-later", T + HOUR],
    ] as const) {
      const target = await keyOf("orgs/acme/teams/web", keyId, [Scope.INVOKE], expiry);
      const rotate = await failure(temp.as.keys.rotateKey({ name: target.name }));
      expect([keyId, rotate.code, rotate.rawMessage]).toEqual([keyId, Code.PermissionDenied, outlives("RotateKey")]);
      expect(await outcome(temp.as.keys.revokeKey({ name: target.name }))).toBe("PermissionDenied");
      const rename = temp.as.keys.updateKey({ key: { name: target.name, displayName: "mine" }, updateMask: mask("display_name") });
      expect(await outcome(rename)).toBe("PermissionDenied");
      const shorten = temp.as.keys.updateKey({ key: { name: target.name, expireTime: timestampFromMs(T) }, updateMask: mask("expire_time") });
      expect(await outcome(shorten)).toBe("PermissionDenied");
      expect(await expiryOf(target.name)).toBe(expiry);
      expect(await target.as.probe()).toBe("ok");
    }
  });

  it("changes, rotates and revokes a key that expires by its own; a rotation's grace ends by it too", async () => {
    const temp = await keyOf("orgs/acme/teams/web", "rotator", KEY_ADMIN, T);
    const target = await keyOf("orgs/acme/teams/web", "app-sooner", [Scope.INVOKE], T - 10 * 60_000);
    const rename = temp.as.keys.updateKey({ key: { name: target.name, displayName: "mine" }, updateMask: mask("display_name") });
    expect(await outcome(rename)).toBe("ok");
    const graceEndingAfter = (name: string) => temp.as.keys.rotateKey({ name, gracePeriod: durationFromMs(2 * HOUR) });
    for (const name of [target.name, temp.name]) {
      const err = await failure(graceEndingAfter(name));
      expect([name, err.code, err.rawMessage]).toEqual([
        name,
        Code.PermissionDenied,
        `RotateKey: grace_period must end no later than the calling key's expire_time (${new Date(T).toISOString()})`,
      ]);
    }
    expect((await platform.keys.getKey({ name: target.name })).key?.displayPrefix).toBe(target.prefix);
    expect(await outcome(temp.as.keys.rotateKey({ name: target.name, gracePeriod: durationFromMs(5 * 60_000) }))).toBe("ok");
    expect(await outcome(temp.as.keys.rotateKey({ name: target.name }))).toBe("ok");
    expect(await outcome(temp.as.keys.revokeKey({ name: target.name }))).toBe("ok");
  });
});

describe("a platform admin whose key expires", () => {
  it("is bound the same way: no admin key that outlives its own, for itself or a successor", async () => {
    const temp = await keyOf("orgs/system/teams/admins", "break-glass-temp", [...ALL_SCOPES], T);
    const successor = (expireTime?: number) =>
      temp.as.keys.createKey({
        parent: "orgs/system/teams/admins",
        key: { scopes: [...ALL_SCOPES], ...(expireTime === undefined ? {} : { expireTime: timestampFromMs(expireTime) }) },
      });
    const err = await failure(successor());
    expect([err.code, err.rawMessage]).toEqual([Code.PermissionDenied, outlives("CreateKey")]);
    expect(await outcome(successor(T + 1_000))).toBe("PermissionDenied");
    expect(await outcome(temp.as.keys.updateKey({ key: { name: temp.name }, updateMask: mask("expire_time") }))).toBe("PermissionDenied");
    expect(await outcome(temp.as.keys.rotateKey({ name: BOOTSTRAP_KEY_NAME }))).toBe("PermissionDenied");
    expect(await outcome(temp.as.keys.revokeKey({ name: BOOTSTRAP_KEY_NAME }))).toBe("PermissionDenied");
    expect(await outcome(successor(T))).toBe("ok");
    expect(await expiryOf(temp.name)).toBe(T);
  });
});

describe("a key without an expiry (the bootstrap key)", () => {
  it("is not bound, lifts a temporary key's expiry (which then binds it no more), and the last admin key stays guarded", async () => {
    // Only temporary platform-admin keys besides it: it is still the last way in.
    const expire = platform.keys.updateKey({ key: { name: BOOTSTRAP_KEY_NAME, expireTime: timestampFromMs(T) }, updateMask: mask("expire_time") });
    expect(await outcome(expire)).toBe("FailedPrecondition");
    const temp = await keyOf("orgs/acme/teams/web", "hired", KEY_ADMIN, T);
    expect(await outcome(temp.as.keys.createKey({ parent: "orgs/acme/teams/web", key: { scopes: [Scope.INVOKE] } }))).toBe("PermissionDenied");
    expect(await outcome(platform.keys.updateKey({ key: { name: temp.name }, updateMask: mask("expire_time") }))).toBe("ok");
    expect(await expiryOf(temp.name)).toBeUndefined();
    expect(await outcome(temp.as.keys.createKey({ parent: "orgs/acme/teams/web", key: { scopes: [Scope.INVOKE] } }))).toBe("ok");
    const later = platform.keys.createKey({ parent: "orgs/acme/teams/web", key: { scopes: KEY_ADMIN, expireTime: timestampFromMs(T + 24 * HOUR) } });
    expect(await outcome(later)).toBe("ok");
  });
});
