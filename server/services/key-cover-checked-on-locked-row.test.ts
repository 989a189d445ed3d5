/**
 * A caller changes, rotates or revokes only keys it covers (README "Tenant isolation"), judged on
 * the key its write replaces. Judged on a key read before the write locked the row, it is not: a
 * stronger admin's UpdateKey that raises the key's scopes in between would leave the weaker
 * caller's update, rotate or revoke applied to a key it may no longer touch.
 *
 * The interleaving is forced, not hoped for: another session holds the key's row FOR UPDATE while
 * the weaker caller's call starts and waits on that lock; that session then raises the key's
 * scopes (what the stronger admin's UpdateKey writes) and commits, and the call goes on.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyState, type Key } from "../../gen/ts/switchboard/v1/key_service_pb.js";
import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import { clientsFor, outcome, type KeyedClients } from "../../test/support/clients.js";
import { startTestGateway, type TestGateway } from "../../test/support/gateway.js";
import { pidOf, untilQueued } from "../../test/support/lock-queue.js";
import { createTestDatabase, withClient, type TestDatabase } from "../../test/support/postgres.js";

let database: TestDatabase;
let gw: TestGateway;
let admin: KeyedClients;
/** A key administrator of org `acme`: it covers keys with at most these scopes. */
let weak: KeyedClients;

beforeAll(async () => {
  database = await createTestDatabase();
  gw = await startTestGateway({ databaseUrl: database.url, pool: 6 });
  admin = clientsFor(gw.url, gw.adminKey);
  await admin.tenants.createOrg({ orgId: "acme", org: {} });
  await admin.tenants.createTeam({ parent: "orgs/acme", teamId: "web", team: {} });
  const { secret } = await admin.keys.createKey({
    parent: "orgs/acme/teams/web",
    keyId: "key-admin",
    key: { scopes: [Scope.KEYS_READ, Scope.KEYS_WRITE, Scope.INVOKE] },
  });
  weak = clientsFor(gw.url, secret);
}, 30_000);
afterAll(async () => {
  await gw?.close();
  await database?.drop();
});

/** The weaker caller's calls on key `name`. */
const CALLS: Record<string, (name: string) => Promise<unknown>> = {
  "UpdateKey of display_name": (name) => weak.keys.updateKey({ key: { name, displayName: "mine" }, updateMask: { paths: ["display_name"] } }),
  // The new scopes are covered; the key being replaced is not.
  "UpdateKey of scopes": (name) => weak.keys.updateKey({ key: { name, scopes: [Scope.INVOKE] }, updateMask: { paths: ["scopes"] } }),
  RevokeKey: (name) => weak.keys.revokeKey({ name }),
  RotateKey: (name) => weak.keys.rotateKey({ name }),
};

let serial = 0;

/** A key of `acme/web` holding only SCOPE_INVOKE, which the weaker caller covers. */
async function coveredKey(): Promise<Key> {
  const { key } = await admin.keys.createKey({ parent: "orgs/acme/teams/web", keyId: `target-${serial++}`, key: { scopes: [Scope.INVOKE] } });
  return key!;
}

/** The key as a Get shows it, without the fields every read recomputes. */
async function stored(name: string): Promise<Partial<Key>> {
  const { key } = await admin.keys.getKey({ name });
  return { scopes: key!.scopes, state: key!.state, displayName: key!.displayName, displayPrefix: key!.displayPrefix };
}

describe("a key administrator's cover is checked on the key its write replaces", () => {
  for (const [what, call] of Object.entries(CALLS)) {
    it(`${what}: on a covered key, succeeds`, async () => {
      const key = await coveredKey();
      expect(await outcome(call(key.name))).toBe("ok");
    });

    it(`${what}: on a key raised to a scope the caller lacks while the call waited for the row, is PermissionDenied and changes nothing`, async () => {
      const key = await coveredKey();
      const id = key.name.split("/").pop()!;
      const err = await withClient(database.url, (holder) =>
        withClient(database.url, async (watcher) => {
          await holder.query("begin");
          try {
            expect((await holder.query("select 1 from keys where name = $1 for update", [id])).rowCount).toBe(1);
            const pending = call(key.name).then(
              () => undefined,
              (err: unknown) => ConnectError.from(err),
            );
            await untilQueued(watcher, await pidOf(holder), 1);
            // What a stronger admin's UpdateKey writes: a scope the weaker caller does not hold.
            await holder.query(`update keys set scopes = scopes || '["SCOPE_BUDGETS_WRITE"]'::jsonb, updated_at = now() where name = $1`, [id]);
            await holder.query("commit");
            return await pending;
          } catch (err) {
            await holder.query("rollback");
            throw err;
          }
        }),
      );
      expect(err?.code).toBe(Code.PermissionDenied);
      expect(err?.rawMessage).toMatch(/the calling key does not hold SCOPE_BUDGETS_WRITE/);
      expect(await stored(key.name)).toEqual({
        scopes: [Scope.INVOKE, Scope.BUDGETS_WRITE],
        state: KeyState.ACTIVE,
        displayName: "",
        displayPrefix: key.displayPrefix,
      });
    });
  }
});
