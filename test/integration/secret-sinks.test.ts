/**
 * P18 for keys: planted canary secrets (the bootstrap key, the pepper, every key secret issued)
 * never reach the debug log, an error a caller receives, or any database row.
 */
import { ConnectError } from "@connectrpc/connect";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import { generateSecret } from "../../server/auth/key-format.js";
import { clientsFor } from "../support/clients.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { createTestDatabase, type TestDatabase } from "../support/postgres.js";

const CANARY_PEPPER = "CANARY-pepper-7d1f0c2e9b4a-never-log-me";

let database: TestDatabase;
let gw: TestGateway;
const canaries: string[] = [];
const errors: string[] = [];

/** Runs a call expected to fail and keeps everything the caller got back. */
async function failing(call: Promise<unknown>): Promise<void> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );
  expect(err).toBeInstanceOf(ConnectError);
  errors.push(JSON.stringify({ message: err!.message, raw: err!.rawMessage, details: err!.details, metadata: [...err!.metadata] }));
}

async function dumpEveryTable(): Promise<string> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    const { rows: tables } = await client.query<{ table_name: string }>(
      "select table_name from information_schema.tables where table_schema = 'public'",
    );
    const out: string[] = [];
    for (const { table_name } of tables) {
      const { rows } = await client.query(`select row_to_json(t)::text as row from "${table_name}" t`);
      out.push(...rows.map((r: { row: string }) => r.row));
    }
    return out.join("\n");
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  database = await createTestDatabase();
  const adminKey = generateSecret();
  canaries.push(adminKey, CANARY_PEPPER);
  gw = await startTestGateway({ databaseUrl: database.url, pepper: CANARY_PEPPER, adminKey });
});
afterAll(async () => {
  await gw?.close();
  await database?.drop();
});

describe("secrets never reach a sink", () => {
  it("not the log, not an error, not a row", async () => {
    const admin = clientsFor(gw.url, gw.adminKey);
    await admin.tenants.createOrg({ orgId: "acme", org: {} });
    await admin.tenants.createTeam({ parent: "orgs/acme", teamId: "web", team: {} });
    const created = await admin.keys.createKey({ parent: "orgs/acme/teams/web", key: { scopes: [Scope.INVOKE] }, requestId: "r1" });
    const rotated = await admin.keys.rotateKey({ name: created.key!.name, requestId: "r2" });
    canaries.push(created.secret, rotated.secret);
    const app = clientsFor(gw.url, rotated.secret);
    expect(await app.probe()).toBe("ok");

    // Every way to fail, with the canaries in headers and bodies.
    const flipped = `${gw.adminKey.slice(0, -1)}${gw.adminKey.endsWith("x") ? "y" : "x"}`;
    await failing(clientsFor(gw.url, flipped).keys.listKeys({ parent: "orgs/acme/teams/-" }));
    await failing(clientsFor(gw.url, generateSecret()).keys.listKeys({ parent: "orgs/acme/teams/-" }));
    await failing(clientsFor(gw.url, `${gw.adminKey} extra`).keys.listKeys({ parent: "orgs/acme/teams/-" }));
    await failing(app.keys.listKeys({ parent: "orgs/acme/teams/-" }));
    await failing(admin.keys.createKey({ parent: "orgs/acme/teams/web", key: { scopes: [99 as Scope] } }));
    await failing(admin.keys.createKey({ parent: "orgs/acme/teams/web", keyId: gw.adminKey.toLowerCase().slice(0, 60), key: { scopes: [] } }));
    await failing(admin.keys.getKey({ name: "orgs/acme/teams/web/keys/missing" }));
    await failing(admin.tenants.updateOrg({ org: { name: "orgs/acme", displayName: gw.adminKey }, updateMask: { paths: ["secret"] } }));
    await failing(admin.keys.createKey({ parent: "orgs/acme/teams/web", key: { scopes: [Scope.INVOKE] }, requestId: "r1", keyId: "other" }));
    await admin.keys.revokeKey({ name: created.key!.name });
    await failing(app.capability.summarize({ text: "after revocation" }));

    const sinks = { log: gw.log.text(), errors: errors.join("\n"), database: await dumpEveryTable() };
    expect(sinks.log.length).toBeGreaterThan(0);
    expect(sinks.database).toContain("SCOPE_INVOKE");
    for (const canary of canaries) {
      for (const [sink, text] of Object.entries(sinks)) {
        expect(text.includes(canary), `${sink} contains a canary`).toBe(false);
        // Nor the random part alone (a secret with its prefix stripped is still a secret).
        if (canary.startsWith("sb_")) expect(text.includes(canary.slice(12)), `${sink} contains a canary's body`).toBe(false);
      }
    }
  });
});
