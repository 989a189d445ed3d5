/**
 * A platform-admin key lives in some org (here `alpha`, the platform team's own). What it changes
 * in another org (`bravo`) is bravo's: the events carry bravo's resources in `before`/`after` (a
 * prompt template's text, a key's grants, a credential's fingerprint). `ListAuditEvents` with
 * `parent: orgs/alpha` by a key below the platform must not show them — README "Tenant isolation"
 * and "Audit log": an org admin with `SCOPE_AUDIT_READ` sees its own org only. Its own keys'
 * refused attempts elsewhere (which carry nothing but their own request) stay visible.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { AuditOutcome, type AuditEvent } from "../../gen/ts/switchboard/v1/audit_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { Verb } from "../../gen/ts/switchboard/v1/common_pb.js";
import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import { ALL_SCOPES } from "../../server/auth/scopes.js";
import { clientsFor, outcome, type KeyedClients } from "../support/clients.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";

let gw: TestGateway;
let platform: KeyedClients;

beforeAll(async () => {
  gw = await startTestGateway();
  platform = clientsFor(gw.url, gw.adminKey);
  for (const org of ["alpha", "bravo"]) {
    await platform.tenants.createOrg({ orgId: org, org: {} });
    await platform.tenants.createTeam({ parent: `orgs/${org}`, teamId: "web", team: {} });
  }
});
afterAll(async () => {
  await gw?.close();
});

const json = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? String(x) : x));

async function events(c: KeyedClients, parent: string): Promise<AuditEvent[]> {
  await gw.server.audit.drain();
  return (await c.audit.listAuditEvents({ parent, pageSize: 1000 })).events;
}

it("an org's auditor does not read what its org's platform-admin key changed in another org", async () => {
  const key = async (keyId: string, scopes: Scope[]) => (await platform.keys.createKey({ parent: "orgs/alpha/teams/web", keyId, key: { scopes } })).secret;
  const ops = clientsFor(gw.url, await key("ops", [...ALL_SCOPES]));
  const auditor = clientsFor(gw.url, await key("auditor", [Scope.AUDIT_READ]));
  const admin = clientsFor(gw.url, await key("admin", [Scope.PROMPTS_WRITE, Scope.PROMPTS_READ]));

  // The platform team's key works on bravo's behalf.
  await ops.prompts.createPromptTemplate({
    parent: "orgs/bravo",
    promptId: "support",
    template: { verb: Verb.CHAT },
    firstVersion: { messages: [{ role: Role.SYSTEM, template: "bravo confidential playbook" }] },
  });
  await ops.tenants.updateOrg({ org: { name: "orgs/bravo", labels: { contract: "bravo-confidential-terms" } }, updateMask: { paths: ["labels"] } });
  // Alpha's own admin tries bravo and is refused: that attempt is alpha's to see.
  expect(await outcome(admin.prompts.deletePromptTemplate({ name: "orgs/bravo/prompts/support" }))).toBe("NotFound");

  const seen = await events(auditor, "orgs/alpha");
  const aboutBravo = seen.filter((e) => e.resource.startsWith("orgs/bravo"));
  expect(json(seen)).not.toContain("bravo-confidential");
  expect(json(seen)).not.toContain("bravo confidential");
  expect(aboutBravo.map((e) => [e.actor, e.action, AuditOutcome[e.outcome]])).toEqual([
    ["orgs/alpha/teams/web/keys/admin", "switchboard.v1.PromptService/DeletePromptTemplate", "FAILURE"],
  ]);

  // Bravo's log has them, and so does the platform's view of bravo.
  const bravo = await events(platform, "orgs/bravo");
  expect(bravo.filter((e) => e.actor === "orgs/alpha/teams/web/keys/ops").map((e) => e.action)).toEqual([
    "switchboard.v1.TenantService/UpdateOrg",
    "switchboard.v1.PromptService/CreatePromptTemplate",
  ]);
});
