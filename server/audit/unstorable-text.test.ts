/**
 * P21: the `resource` of an audit event comes from the request (`resourceOf` cuts it at 512 UTF-16
 * units, which can split a surrogate pair), and a refused route alias is recorded in `after`.
 * Postgres cannot store a NUL or a lone surrogate as the writer would hash it: unscrubbed, the
 * event was lost, or stored differently so that an untouched chain no longer verified.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import { generateSecret } from "../auth/key-format.js";
import { clientsFor, type KeyedClients } from "../../test/support/clients.js";
import type { TestGateway } from "../../test/support/gateway.js";
import { startPostgresGateway } from "../../test/support/postgres-gateway.js";

let gw: TestGateway;
let platform: KeyedClients;

beforeAll(async () => {
  gw = await startPostgresGateway();
  platform = clientsFor(gw.url, gw.adminKey);
  await platform.tenants.createOrg({ orgId: "alpha", org: { displayName: "alpha" } });
  await platform.tenants.createTeam({ parent: "orgs/alpha", teamId: "admins", team: {} });
});
afterAll(async () => {
  await gw?.close();
});

async function refused(call: Promise<unknown>): Promise<Code | undefined> {
  try {
    await call;
    return undefined;
  } catch (err) {
    return ConnectError.from(err).code;
  }
}

describe("audit events with text Postgres cannot store as hashed", () => {
  it("a well-formed resource name longer than 512 chars (emoji at the cut) keeps the chain verifiable", async () => {
    const stranger = clientsFor(gw.url, generateSecret());
    const prefix = "orgs/alpha/teams/admins/keys/";
    // 511 UTF-16 units, then an emoji (a surrogate pair) straddling the 512-unit cut.
    const name = prefix + "k".repeat(511 - prefix.length) + "\u{1F600}" + "tail";
    expect(await refused(stranger.keys.revokeKey({ name }))).toBe(Code.Unauthenticated);
    await gw.server.audit.drain();
    const verdict = await platform.audit.verifyAuditChain({});
    expect({ intact: verdict.intact, firstBrokenSequence: verdict.firstBrokenSequence }, "an untouched chain reported as tampered").toEqual({ intact: true, firstBrokenSequence: 0n });
  });

  it("an unauthenticated attempt naming a resource with U+0000 is still recorded", async () => {
    const stranger = clientsFor(gw.url, generateSecret());
    const before = (await gw.server.audit.store.head()).sequence;
    expect(await refused(stranger.keys.revokeKey({ name: "orgs/alpha/teams/admins/keys/ci\0x" }))).toBe(Code.Unauthenticated);
    await gw.server.audit.drain();
    const after = (await gw.server.audit.store.head()).sequence;
    expect(after - before, "the authentication failure left no audit event").toBe(1n);
  });

  it("a model naming U+0000 or a lone surrogate on /v1/chat/completions cannot be a route: not found, and no access decision to record", async () => {
    const key = await platform.keys.createKey({
      parent: "orgs/alpha/teams/admins",
      keyId: "restricted",
      key: { scopes: [Scope.INVOKE], allowedRoutes: ["allowed"] },
    });
    await gw.server.audit.drain();
    const before = (await gw.server.audit.store.head()).sequence;
    for (const [requestId, model] of [["oai-nul-route", "secret\\u0000route"], ["oai-surrogate-route", "secret\\ud800route"]] as const) {
      const res = await fetch(`${gw.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-request-id": requestId, authorization: `Bearer ${key.secret}` },
        // JSON escapes, as any client may send them.
        body: `{"model":"${model}","messages":[{"role":"user","content":"hi"}]}`,
      });
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("model_not_found");
    }
    await gw.server.audit.drain();
    expect((await gw.server.audit.store.head()).sequence).toBe(before);
  });

});
