/**
 * An org admin holding every scope but the platform's tries every admin RPC on another org's
 * resources (README "Tenant isolation"): NotFound, as if absent, and nothing changes.
 */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { Verb } from "../../gen/ts/switchboard/v1/common_pb.js";
import { BudgetPeriod, GuardrailStage } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { GuardrailAction, GuardrailRuleSchema } from "../../gen/ts/switchboard/v1/guardrail_service_pb.js";
import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import { ALL_SCOPES } from "../../server/auth/scopes.js";
import { clientsFor, outcome, type KeyedClients } from "../support/clients.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";

let gw: TestGateway;
let platform: KeyedClients;
let a: KeyedClients;
let b: KeyedClients;
const rules = () => [create(GuardrailRuleSchema, { id: "p", stage: GuardrailStage.INPUT, action: GuardrailAction.LOG, check: { case: "pii", value: {} } })];
const mask = (...paths: string[]) => ({ paths });
const window = () => ({ startTime: timestampFromDate(new Date(Date.now() - 3_600_000)), endTime: timestampFromDate(new Date(Date.now() + 3_600_000)) });

beforeAll(async () => {
  gw = await startTestGateway();
  platform = clientsFor(gw.url, gw.adminKey);
  const orgAdmin = ALL_SCOPES.filter((s) => s !== Scope.PLATFORM_ADMIN);
  const keys: Record<string, string> = {};
  for (const org of ["alpha", "bravo"]) {
    await platform.tenants.createOrg({ orgId: org, org: {} });
    await platform.tenants.createTeam({ parent: `orgs/${org}`, teamId: "t", team: {} });
    keys[org] = (await platform.keys.createKey({ parent: `orgs/${org}/teams/t`, keyId: "admin", key: { scopes: orgAdmin } })).secret;
  }
  a = clientsFor(gw.url, keys.alpha!);
  b = clientsFor(gw.url, keys.bravo!);
  await b.credentials.createCredential({ parent: "orgs/bravo", credentialId: "c", credential: { provider: "openai" }, value: "sk-bravo-secret-0123456789" });
  await b.routes.createRoute({ parent: "orgs/bravo", routeId: "r", route: { targets: [{ provider: "sandbox", model: "sandbox-fast" }] } });
  await b.budgets.createBudget({ parent: "orgs/bravo", budgetId: "bud", budget: { target: "orgs/bravo", limitMicrosUsd: 10n, period: BudgetPeriod.TOTAL } });
  await b.budgets.createRateLimit({ parent: "orgs/bravo", rateLimitId: "rl", rateLimit: { target: "orgs/bravo", requestsPerMinute: 10n } });
  await b.prompts.createPromptTemplate({
    parent: "orgs/bravo",
    promptId: "p",
    template: { verb: Verb.CHAT },
    firstVersion: { messages: [{ role: Role.SYSTEM, template: "bravo secret prompt" }] },
  });
  await b.guardrails.createGuardrailPolicy({ parent: "orgs/bravo", policyId: "g", policy: { rules: rules() } });
});
afterAll(async () => {
  await gw?.close();
});

describe("an org admin against another org", () => {
  it("gets NotFound from every admin RPC naming the other org", async () => {
    const attempts: Record<string, () => Promise<unknown>> = {
      getCredential: () => a.credentials.getCredential({ name: "orgs/bravo/credentials/c" }),
      listCredentials: () => a.credentials.listCredentials({ parent: "orgs/bravo" }),
      createCredential: () => a.credentials.createCredential({ parent: "orgs/bravo", credentialId: "x", credential: { provider: "openai" }, value: "v" }),
      updateCredential: () => a.credentials.updateCredential({ credential: { name: "orgs/bravo/credentials/c", displayName: "x" }, updateMask: mask("display_name") }),
      deleteCredential: () => a.credentials.deleteCredential({ name: "orgs/bravo/credentials/c" }),
      getRoute: () => a.routes.getRoute({ name: "orgs/bravo/routes/r" }),
      listRoutes: () => a.routes.listRoutes({ parent: "orgs/bravo" }),
      createRoute: () => a.routes.createRoute({ parent: "orgs/bravo", routeId: "x", route: { targets: [{ provider: "sandbox", model: "sandbox-fast" }] } }),
      updateRoute: () => a.routes.updateRoute({ route: { name: "orgs/bravo/routes/r", description: "x", targets: [{ provider: "sandbox", model: "sandbox-fast" }] }, updateMask: mask("description") }),
      deleteRoute: () => a.routes.deleteRoute({ name: "orgs/bravo/routes/r" }),
      getBudget: () => a.budgets.getBudget({ name: "orgs/bravo/budgets/bud" }),
      getBudgetStatus: () => a.budgets.getBudgetStatus({ name: "orgs/bravo/budgets/bud" }),
      listBudgets: () => a.budgets.listBudgets({ parent: "orgs/bravo" }),
      createBudget: () => a.budgets.createBudget({ parent: "orgs/bravo", budget: { target: "orgs/bravo", limitMicrosUsd: 1n, period: BudgetPeriod.TOTAL } }),
      updateBudget: () =>
        a.budgets.updateBudget({
          budget: { name: "orgs/bravo/budgets/bud", target: "orgs/bravo", limitMicrosUsd: 99n, period: BudgetPeriod.TOTAL },
          updateMask: mask("limit_micros_usd"),
        }),
      deleteBudget: () => a.budgets.deleteBudget({ name: "orgs/bravo/budgets/bud" }),
      getRateLimit: () => a.budgets.getRateLimit({ name: "orgs/bravo/rate-limits/rl" }),
      listRateLimits: () => a.budgets.listRateLimits({ parent: "orgs/bravo" }),
      updateRateLimit: () =>
        a.budgets.updateRateLimit({ rateLimit: { name: "orgs/bravo/rate-limits/rl", target: "orgs/bravo", requestsPerMinute: 1n }, updateMask: mask("requests_per_minute") }),
      deleteRateLimit: () => a.budgets.deleteRateLimit({ name: "orgs/bravo/rate-limits/rl" }),
      getPrompt: () => a.prompts.getPromptTemplate({ name: "orgs/bravo/prompts/p" }),
      listPrompts: () => a.prompts.listPromptTemplates({ parent: "orgs/bravo" }),
      listVersions: () => a.prompts.listPromptVersions({ parent: "orgs/bravo/prompts/p" }),
      getVersion: () => a.prompts.getPromptVersion({ name: "orgs/bravo/prompts/p/versions/1" }),
      render: () => a.prompts.renderPromptPreview({ prompt: { name: "orgs/bravo/prompts/p" } }),
      createVersion: () => a.prompts.createPromptVersion({ parent: "orgs/bravo/prompts/p", version: { messages: [{ role: Role.SYSTEM, template: "x" }] } }),
      activate: () => a.prompts.activatePromptVersion({ name: "orgs/bravo/prompts/p/versions/1" }),
      updatePrompt: () => a.prompts.updatePromptTemplate({ template: { name: "orgs/bravo/prompts/p", verb: Verb.CHAT, description: "x" }, updateMask: mask("description") }),
      deletePrompt: () => a.prompts.deletePromptTemplate({ name: "orgs/bravo/prompts/p" }),
      getPolicy: () => a.guardrails.getGuardrailPolicy({ name: "orgs/bravo/guardrail-policies/g" }),
      listPolicies: () => a.guardrails.listGuardrailPolicies({ parent: "orgs/bravo" }),
      deletePolicy: () => a.guardrails.deleteGuardrailPolicy({ name: "orgs/bravo/guardrail-policies/g" }),
      queryUsage: () => a.usage.queryUsage({ parent: "orgs/bravo", ...window() }),
      listUsage: () => a.usage.listUsageRecords({ parent: "orgs/bravo", ...window() }),
      usageFilterTeam: () => a.usage.queryUsage({ parent: "orgs/alpha", ...window(), filter: { teams: ["orgs/bravo/teams/t"] } }),
      usageFilterKey: () => a.usage.queryUsage({ parent: "orgs/alpha", ...window(), filter: { keys: ["orgs/bravo/teams/t/keys/admin"] } }),
      cacheStats: () => a.cache.getCacheStats({ parent: "orgs/bravo" }),
      purge: () => a.cache.purgeCache({ parent: "orgs/bravo" }),
      audit: () => a.audit.listAuditEvents({ parent: "orgs/bravo" }),
    };
    const got: Record<string, string> = {};
    for (const [name, attempt] of Object.entries(attempts)) got[name] = await outcome(attempt());
    expect(got).toEqual(Object.fromEntries(Object.keys(attempts).map((k) => [k, "NotFound"])));
  });

  it("cannot reach another org's resources through its own org's references", async () => {
    const refs: Record<string, () => Promise<unknown>> = {
      budgetOnOtherKey: () => a.budgets.createBudget({ parent: "orgs/alpha", budget: { target: "orgs/bravo/teams/t/keys/admin", limitMicrosUsd: 1n, period: BudgetPeriod.TOTAL } }),
      routeWithOtherCredential: () =>
        a.routes.createRoute({ parent: "orgs/alpha", routeId: "steal", route: { targets: [{ provider: "openai", model: "gpt-4o-mini", credential: "orgs/bravo/credentials/c" }] } }),
      promptOnOtherKey: () =>
        a.prompts.createPromptTemplate({
          parent: "orgs/alpha",
          promptId: "x",
          template: { verb: Verb.CHAT, attachments: ["orgs/bravo/teams/t/keys/admin"] },
          firstVersion: { messages: [{ role: Role.SYSTEM, template: "x" }] },
        }),
      policyOnOtherKey: () => a.guardrails.createGuardrailPolicy({ parent: "orgs/alpha", policyId: "x", policy: { rules: rules(), attachments: ["orgs/bravo/teams/t/keys/admin"] } }),
    };
    for (const [name, attempt] of Object.entries(refs)) expect([name, await outcome(attempt())]).not.toEqual([name, "ok"]);
  });

  it("nothing of bravo changed, and bravo's credential value is never returned", async () => {
    expect((await b.budgets.getBudget({ name: "orgs/bravo/budgets/bud" })).budget?.limitMicrosUsd).toBe(10n);
    expect((await b.routes.getRoute({ name: "orgs/bravo/routes/r" })).route?.description).toBe("");
    const cred = await b.credentials.getCredential({ name: "orgs/bravo/credentials/c" });
    expect(JSON.stringify(cred, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v))).not.toContain("bravo-secret");
    const events = await platform.audit.listAuditEvents({ parent: "", pageSize: 1000 });
    expect(JSON.stringify(events.events, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v))).not.toContain("bravo-secret");
  });

  it("page tokens from one org do not work for the other", async () => {
    for (const n of ["r2", "r3"]) await a.routes.createRoute({ parent: "orgs/alpha", routeId: n, route: { targets: [{ provider: "sandbox", model: "sandbox-fast" }] } });
    const page = await a.routes.listRoutes({ parent: "orgs/alpha", pageSize: 1 });
    expect(page.nextPageToken).not.toBe("");
    expect(await outcome(b.routes.listRoutes({ parent: "orgs/bravo", pageToken: page.nextPageToken }))).toBe("InvalidArgument");
    expect(await outcome(b.routes.listRoutes({ parent: "orgs/alpha", pageToken: page.nextPageToken }))).toBe("NotFound");
  });
});
