/**
 * global guardrail policies and global prompt templates are readable by every key
 * with the read scope, and a platform admin may attach them to any org's teams and keys. Their
 * Get/List answers then show an org admin the names of another org's teams and keys — which that
 * same admin's GetTeam/GetKey answer `not_found` "as if they did not exist" (README, Tenant
 * isolation) — and a global external rule's URL with the Basic-auth credentials in it (the
 * schema marks it `sensitive`: "it may carry a token").
 */
import { create } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { Verb } from "../../gen/ts/switchboard/v1/common_pb.js";
import { GuardrailStage } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { GuardrailAction, GuardrailRuleSchema } from "../../gen/ts/switchboard/v1/guardrail_service_pb.js";
import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import { ALL_SCOPES } from "../../server/auth/scopes.js";
import { clientsFor, outcome, type KeyedClients } from "../support/clients.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { createTestDatabase, type TestDatabase } from "../support/postgres.js";

const json = (value: unknown) => JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v));

describe("global policies and templates attached to another org's resources", () => {
  let database: TestDatabase;
  let gw: TestGateway;
  let platform: KeyedClients;
  let a: KeyedClients;

  beforeAll(async () => {
    database = await createTestDatabase();
    gw = await startTestGateway({ databaseUrl: database.url });
    platform = clientsFor(gw.url, gw.adminKey);
    for (const org of ["alpha", "bravo"]) await platform.tenants.createOrg({ orgId: org, org: {} });
    await platform.tenants.createTeam({ parent: "orgs/alpha", teamId: "t", team: {} });
    await platform.tenants.createTeam({ parent: "orgs/bravo", teamId: "merger-project", team: {} });
    await platform.keys.createKey({ parent: "orgs/bravo/teams/merger-project", keyId: "acquire-alpha", key: { scopes: [Scope.INVOKE] } });
    const orgAdmin = ALL_SCOPES.filter((s) => s !== Scope.PLATFORM_ADMIN);
    a = clientsFor(gw.url, (await platform.keys.createKey({ parent: "orgs/alpha/teams/t", keyId: "admin", key: { scopes: orgAdmin } })).secret);

    await platform.guardrails.createGuardrailPolicy({
      parent: "",
      policyId: "house",
      policy: {
        attachments: ["orgs/bravo/teams/merger-project"],
        rules: [
          create(GuardrailRuleSchema, {
            id: "ext",
            stage: GuardrailStage.INPUT,
            action: GuardrailAction.BLOCK,
            check: { case: "external", value: { url: "https://svc:platform-hunter2@checks.example.com/v1/check?token=query-hunter3" } },
          }),
        ],
      },
    });
    await platform.prompts.createPromptTemplate({
      parent: "",
      promptId: "house",
      template: { verb: Verb.CHAT, attachments: ["orgs/bravo/teams/merger-project/keys/acquire-alpha"] },
      firstVersion: { messages: [{ role: Role.SYSTEM, template: "house rules" }] },
    });
  });
  afterAll(async () => {
    await gw?.close();
    await database?.drop();
  });

  it("bravo's team and key are NotFound to alpha's admin", async () => {
    expect(await outcome(a.tenants.getTeam({ name: "orgs/bravo/teams/merger-project" }))).toBe("NotFound");
    expect(await outcome(a.keys.getKey({ name: "orgs/bravo/teams/merger-project/keys/acquire-alpha" }))).toBe("NotFound");
  });

  it("so no global guardrail policy alpha's admin can read names them", async () => {
    const seen = json([
      await a.guardrails.listGuardrailPolicies({ parent: "" }),
      await a.guardrails.getGuardrailPolicy({ name: "guardrail-policies/house" }),
    ]);
    expect(seen).not.toContain("orgs/bravo");
  });

  it("nor any global prompt template", async () => {
    const seen = json([await a.prompts.listPromptTemplates({ parent: "" }), await a.prompts.getPromptTemplate({ name: "prompts/house" })]);
    expect(seen).not.toContain("orgs/bravo");
  });

  it("nor hands it the platform's external-check credentials", async () => {
    const seen = json(await a.guardrails.getGuardrailPolicy({ name: "guardrail-policies/house" }));
    expect(seen).not.toContain("platform-hunter2");
    expect(seen).not.toContain("query-hunter3");
    expect(seen).toContain("https://checks.example.com");
  });
});
