/**
 * A key's `expire_time` in the last half millisecond of a Timestamp's range (9999-12-31T23:59:59.9995Z
 * and after), which the JSON codec accepts: the gateway keeps expiry times in milliseconds, and
 * rounding that instant up made it 10000-01-01, a Timestamp no JSON client can be sent. Over Connect
 * JSON, CreateKey then stored the key and failed to answer (its secret lost), and every later
 * GetKey or ListKeys of it failed the same way.
 */
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyService } from "../../gen/ts/switchboard/v1/key_service_pb.js";
import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import { clientsFor } from "../support/clients.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway();
  await clientsFor(gw.url, gw.adminKey).tenants.createTeam({ parent: "orgs/system", teamId: "edge", team: {} });
});
afterAll(async () => {
  await gw?.close();
});

describe("a key's expire_time at the end of a Timestamp's range, over Connect JSON", () => {
  it("is kept as the range's last millisecond: the key is created, answered and listed", async () => {
    const keys = createClient(KeyService, createConnectTransport({ baseUrl: gw.url, httpVersion: "1.1", useBinaryFormat: false }));
    const headers = { authorization: `Bearer ${gw.adminKey}` };
    const created = await keys.createKey(
      { parent: "orgs/system/teams/edge", keyId: "last-instant", key: { scopes: [Scope.INVOKE], expireTime: { seconds: 253_402_300_799n, nanos: 999_999_999 } } },
      { headers },
    );
    expect(created.secret).toMatch(/^sb_live_/);
    expect(created.key?.expireTime).toMatchObject({ seconds: 253_402_300_799n, nanos: 999_000_000 });
    expect(await clientsFor(gw.url, created.secret).probe()).toBe("ok");
    const listed = await keys.listKeys({ parent: "orgs/system/teams/edge" }, { headers });
    expect(listed.keys.map((k) => k.name)).toEqual(["orgs/system/teams/edge/keys/last-instant"]);
  });
});
