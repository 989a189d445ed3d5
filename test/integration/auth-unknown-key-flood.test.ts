/**
 * The unknown-key throttle through both front doors (README, "Keys and scopes": "Unknown keys"):
 * the Connect surface and `/v1/*` count one client address together, refuse it past its burst
 * with `resource_exhausted` / 429 and say when to retry, and keys the replica holds keep working
 * from that address.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import { generateSecret } from "../../server/auth/key-format.js";
import { RETRY_INFO } from "../../server/errors/retry-info.js";
import { clientsFor, outcome, type KeyedClients } from "../support/clients.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { createTestDatabase, type TestDatabase } from "../support/postgres.js";

let database: TestDatabase;
let gw: TestGateway;
let admin: KeyedClients;

beforeAll(async () => {
  database = await createTestDatabase();
  // One token a minute: nothing comes back while the test runs, however slow the machine.
  gw = await startTestGateway({ databaseUrl: database.url, auth: { unknownKeyBurst: 3, unknownKeysPerMinute: 1 } });
  admin = clientsFor(gw.url, gw.adminKey);
  await admin.tenants.createOrg({ orgId: "acme", org: {} });
  await admin.tenants.createTeam({ parent: "orgs/acme", teamId: "app", team: {} });
});
afterAll(async () => {
  await gw?.close();
  await database?.drop();
});

async function chat(secret: string): Promise<Response> {
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${secret}` },
    body: JSON.stringify({ model: "fast", messages: [{ role: "user", content: "hi" }] }),
  });
  await res.arrayBuffer();
  return res;
}

describe("unknown keys from one address", () => {
  it("are looked up up to the burst across both front doors, then refused with a retry delay; cached keys still work", async () => {
    const fresh = await admin.keys.createKey({ parent: "orgs/acme/teams/app", key: { scopes: [Scope.INVOKE] } });

    expect(await clientsFor(gw.url, generateSecret()).probe()).toBe("Unauthenticated");
    expect(await clientsFor(gw.url, generateSecret()).probe()).toBe("Unauthenticated");
    expect((await chat(generateSecret())).status).toBe(401);

    const refused = await clientsFor(gw.url, generateSecret())
      .capability.summarize({ text: "ping" })
      .then(
        () => undefined,
        (err: unknown) => ConnectError.from(err),
      );
    expect(refused?.code).toBe(Code.ResourceExhausted);
    expect(refused?.details.map((d) => ("desc" in d ? d.desc.typeName : d.type))).toContain(RETRY_INFO);

    const openai = await chat(generateSecret());
    expect(openai.status).toBe(429);
    expect(Number(openai.headers.get("retry-after"))).toBeGreaterThan(0);

    // The admin key is in this replica's cache: no lookup, no throttle.
    expect(await outcome(admin.tenants.getOrg({ name: "orgs/acme" }))).toBe("ok");
    // A key this replica has no entry for needs a lookup, so it waits like any other secret.
    expect(await clientsFor(gw.url, fresh.secret).probe()).toBe("ResourceExhausted");
  });
});
