/**
 * A guardrail policy attached to a team (or a key, or an org) whose target is deleted. An
 * attachment is stored resolved to the internal id of what it names, so a policy that outlived
 * its team would go on listing `orgs/{org}/teams/{team}` as attached while applying to nothing —
 * not even to a team re-created under that name (a new id). DeleteTeam and DeleteOrg therefore
 * refuse (FailedPrecondition naming the policies) while a live policy is attached, as they do
 * while active keys or live routes remain; once the attachment is removed the delete goes, and a
 * re-created team is not listed as attached.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, expect, it } from "vitest";
import { GuardrailStage } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { GuardrailAction } from "../../gen/ts/switchboard/v1/guardrail_service_pb.js";
import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import { clientsFor, outcome, type KeyedClients } from "../support/clients.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";

let gw: TestGateway;
let platform: KeyedClients;

beforeAll(async () => {
  gw = await startTestGateway();
  platform = clientsFor(gw.url, gw.adminKey);
});
afterAll(async () => {
  await gw?.close();
});

const rules = [{ id: "deny", stage: GuardrailStage.INPUT, action: GuardrailAction.BLOCK, check: { case: "denyList" as const, value: { phrases: ["project-nightingale"] } } }];

const newKey = async (team: string, keyId: string) =>
  clientsFor(gw.url, (await platform.keys.createKey({ parent: team, keyId, key: { scopes: [Scope.INVOKE] } })).secret);

/** The code name and message a call failed with, or "ok". */
async function refusal(call: Promise<unknown>): Promise<{ code: string; message: string }> {
  return call.then(
    () => ({ code: "ok", message: "" }),
    (err: unknown) => {
      const e = ConnectError.from(err);
      return { code: Code[e.code], message: e.rawMessage };
    },
  );
}

it("DeleteTeam refuses while a policy is attached to the team, and after detaching a re-created team is not listed", async () => {
  await platform.tenants.createOrg({ orgId: "guarded", org: {} });
  await platform.tenants.createTeam({ parent: "orgs/guarded", teamId: "app", team: {} });
  await platform.guardrails.createGuardrailPolicy({
    parent: "orgs/guarded",
    policyId: "no-secrets",
    policy: { enabled: true, attachments: ["orgs/guarded/teams/app"], rules },
  });
  const first = await newKey("orgs/guarded/teams/app", "first");
  expect(await outcome(first.capability.summarize({ text: "notes on project-nightingale" }))).toBe("PermissionDenied");
  await platform.keys.revokeKey({ name: "orgs/guarded/teams/app/keys/first" });

  const refused = await refusal(platform.tenants.deleteTeam({ name: "orgs/guarded/teams/app" }));
  expect(refused.code).toBe("FailedPrecondition");
  expect(refused.message).toContain("orgs/guarded/guardrail-policies/no-secrets");
  expect(await outcome(platform.tenants.getTeam({ name: "orgs/guarded/teams/app" }))).toBe("ok");

  // Detached, the team goes and comes back under the same name; the policy does not claim it.
  await platform.guardrails.updateGuardrailPolicy({
    policy: { name: "orgs/guarded/guardrail-policies/no-secrets", attachments: [], rules },
    updateMask: { paths: ["attachments"] },
  });
  expect(await outcome(platform.tenants.deleteTeam({ name: "orgs/guarded/teams/app" }))).toBe("ok");
  await platform.tenants.createTeam({ parent: "orgs/guarded", teamId: "app", team: {} });
  const second = await newKey("orgs/guarded/teams/app", "second");
  const policy = (await platform.guardrails.getGuardrailPolicy({ name: "orgs/guarded/guardrail-policies/no-secrets" })).policy!;
  const listed = policy.attachments.includes("orgs/guarded/teams/app");
  const applies = (await outcome(second.capability.summarize({ text: "notes on project-nightingale" }))) === "PermissionDenied";
  expect({ listed, applies }).toEqual({ listed: false, applies: false });
});

it("DeleteTeam refuses while a policy is attached to one of its keys, even a revoked one (keys go with the team)", async () => {
  await platform.tenants.createOrg({ orgId: "keyed", org: {} });
  await platform.tenants.createTeam({ parent: "orgs/keyed", teamId: "app", team: {} });
  await newKey("orgs/keyed/teams/app", "k");
  await platform.guardrails.createGuardrailPolicy({ parent: "", policyId: "keyed-k", policy: { enabled: false, attachments: ["orgs/keyed/teams/app/keys/k"], rules } });
  await platform.keys.revokeKey({ name: "orgs/keyed/teams/app/keys/k" });

  const refused = await refusal(platform.tenants.deleteTeam({ name: "orgs/keyed/teams/app" }));
  expect(refused).toEqual({ code: "FailedPrecondition", message: expect.stringContaining("guardrail-policies/keyed-k") as string });
  await platform.guardrails.deleteGuardrailPolicy({ name: "guardrail-policies/keyed-k" });
  expect(await outcome(platform.tenants.deleteTeam({ name: "orgs/keyed/teams/app" }))).toBe("ok");
});

it("DeleteOrg refuses while another scope's policy is attached to the org or its routes, naming a few and counting the rest", async () => {
  await platform.tenants.createOrg({ orgId: "attached", org: {} });
  // The org's own policy goes with it and does not hold it back.
  await platform.guardrails.createGuardrailPolicy({ parent: "orgs/attached", policyId: "own", policy: { enabled: true, attachments: ["orgs/attached"], rules } });
  const ids = ["g1", "g2", "g3", "g4", "g5"];
  for (const [i, policyId] of ids.entries()) {
    const attachments = [i % 2 === 0 ? "orgs/attached" : "orgs/attached/routes/r"];
    await platform.guardrails.createGuardrailPolicy({ parent: "", policyId, policy: { enabled: i < 3, attachments, rules } });
  }

  const refused = await refusal(platform.tenants.deleteOrg({ name: "orgs/attached" }));
  expect(refused.code).toBe("FailedPrecondition");
  expect(refused.message).toMatch(/guardrail-policies\/g1, guardrail-policies\/g2, guardrail-policies\/g3 and 2 more/);
  expect(refused.message).not.toContain("orgs/attached/guardrail-policies/own");

  for (const policyId of ids) await platform.guardrails.deleteGuardrailPolicy({ name: `guardrail-policies/${policyId}` });
  expect(await outcome(platform.tenants.deleteOrg({ name: "orgs/attached" }))).toBe("ok");
  expect(await outcome(platform.tenants.getOrg({ name: "orgs/attached" }))).toBe("NotFound");
});
