/**
 * AIP-155 `request_id` on every admin create: a repeat of the same request — whatever order its
 * map entries (labels, tags, settings, route target params) arrive in, as a Go client's marshaling
 * randomizes them — answers as the first call did, and the same id with a different request is
 * `FailedPrecondition`, on every service alike.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { Verb } from "../../gen/ts/switchboard/v1/common_pb.js";
import { BudgetPeriod, GuardrailStage } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { GuardrailAction } from "../../gen/ts/switchboard/v1/guardrail_service_pb.js";
import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import { clientsFor, outcome, type KeyedClients } from "../../test/support/clients.js";
import { startTestGateway, type TestGateway } from "../../test/support/gateway.js";
import { createTestDatabase, type TestDatabase } from "../../test/support/postgres.js";

function describeRepeats(engine: "postgres" | "pglite"): void {
  let database: TestDatabase | undefined;
  let gw: TestGateway;
  let platform: KeyedClients;

  beforeAll(async () => {
    if (engine === "postgres") database = await createTestDatabase();
    gw = await startTestGateway(database ? { databaseUrl: database.url } : {});
    platform = clientsFor(gw.url, gw.adminKey);
    await platform.tenants.createOrg({ orgId: "acme", org: {} });
    await platform.tenants.createTeam({ parent: "orgs/acme", teamId: "web", team: {} });
  });
  afterAll(async () => {
    await gw?.close();
    await database?.drop();
  });

  it("a repeat with its map entries in another order is the same request", async () => {
    const org = await platform.tenants.createOrg({ orgId: "labelled", org: { labels: { env: "prod", tier: "gold" } }, requestId: "org-1" });
    const orgAgain = await platform.tenants.createOrg({ orgId: "labelled", org: { labels: { tier: "gold", env: "prod" } }, requestId: "org-1" });
    expect(orgAgain.org?.name).toBe(org.org?.name);

    const team = { parent: "orgs/acme", teamId: "labelled" };
    await platform.tenants.createTeam({ ...team, team: { labels: { a: "1", b: "2" } }, requestId: "team-1" });
    expect(await outcome(platform.tenants.createTeam({ ...team, team: { labels: { b: "2", a: "1" } }, requestId: "team-1" }))).toBe("ok");

    const key = { parent: "orgs/acme/teams/web", keyId: "tagged" };
    const first = await platform.keys.createKey({ ...key, key: { scopes: [Scope.INVOKE], tags: { app: "web", feature: "search" } }, requestId: "key-1" });
    const repeat = await platform.keys.createKey({ ...key, key: { scopes: [Scope.INVOKE], tags: { feature: "search", app: "web" } }, requestId: "key-1" });
    expect(repeat).toMatchObject({ secret: "", key: { name: first.key?.name } });

    const credential = { parent: "orgs/acme", credentialId: "set", value: "sk-test-0123456789" };
    await platform.credentials.createCredential({ ...credential, credential: { provider: "openai", settings: { base_url: "http://127.0.0.1:1/v1", organization: "o" } }, requestId: "cred-1" });
    expect(
      await outcome(platform.credentials.createCredential({ ...credential, credential: { provider: "openai", settings: { organization: "o", base_url: "http://127.0.0.1:1/v1" } }, requestId: "cred-1" })),
    ).toBe("ok");
  });

  it("the same request_id with a different request is FailedPrecondition on every create, and a repeat after a delete is NotFound", async () => {
    const target = { provider: "sandbox", model: "sandbox-fast" };
    const rules = [{ id: "deny", stage: GuardrailStage.INPUT, action: GuardrailAction.BLOCK, check: { case: "denyList" as const, value: { phrases: ["secret"] } } }];
    const creates: Record<string, { make: (id: string) => Promise<unknown>; drop: (id: string) => Promise<unknown> }> = {
      team: {
        make: (id) => platform.tenants.createTeam({ parent: "orgs/acme", teamId: id, team: {}, requestId: "reuse-team" }),
        drop: (id) => platform.tenants.deleteTeam({ name: `orgs/acme/teams/${id}` }),
      },
      route: {
        make: (id) => platform.routes.createRoute({ parent: "orgs/acme", routeId: id, route: { targets: [target] }, requestId: "reuse-route" }),
        drop: (id) => platform.routes.deleteRoute({ name: `orgs/acme/routes/${id}` }),
      },
      budget: {
        make: (id) => platform.budgets.createBudget({ parent: "orgs/acme", budgetId: id, budget: { target: "orgs/acme", limitMicrosUsd: 1n, period: BudgetPeriod.TOTAL }, requestId: "reuse-budget" }),
        drop: (id) => platform.budgets.deleteBudget({ name: `orgs/acme/budgets/${id}` }),
      },
      "rate limit": {
        make: (id) => platform.budgets.createRateLimit({ parent: "orgs/acme", rateLimitId: id, rateLimit: { target: "orgs/acme", requestsPerMinute: 1n }, requestId: "reuse-rate" }),
        drop: (id) => platform.budgets.deleteRateLimit({ name: `orgs/acme/rate-limits/${id}` }),
      },
      "guardrail policy": {
        make: (id) => platform.guardrails.createGuardrailPolicy({ parent: "orgs/acme", policyId: id, policy: { rules }, requestId: "reuse-policy" }),
        drop: (id) => platform.guardrails.deleteGuardrailPolicy({ name: `orgs/acme/guardrail-policies/${id}` }),
      },
      "prompt template": {
        make: (id) =>
          platform.prompts.createPromptTemplate({ parent: "orgs/acme", promptId: id, template: { verb: Verb.CHAT }, firstVersion: { messages: [{ role: Role.SYSTEM, template: "one" }] }, requestId: "reuse-prompt" }),
        drop: (id) => platform.prompts.deletePromptTemplate({ name: `orgs/acme/prompts/${id}` }),
      },
    };
    const seen: Record<string, string[]> = {};
    for (const [what, { make, drop }] of Object.entries(creates)) {
      const first = await outcome(make("first"));
      const repeat = await outcome(make("first"));
      const reused = await outcome(make("second"));
      await drop("first");
      const afterDelete = await outcome(make("first"));
      seen[what] = [first, repeat, reused, afterDelete];
    }
    const expected = Object.fromEntries(Object.keys(creates).map((what) => [what, ["ok", "ok", "FailedPrecondition", "NotFound"]]));
    expect(seen).toEqual(expected);
  });

  it("CreateRoute: another request_id (or none) for a route that exists is AlreadyExists, and two repeats at once make one route", async () => {
    const create = (requestId: string) => platform.routes.createRoute({ parent: "orgs/acme", routeId: "once", route: { targets: [{ provider: "sandbox", model: "sandbox-fast" }] }, requestId });
    expect(await Promise.all([outcome(create("once-1")), outcome(create("once-1"))])).toEqual(["ok", "ok"]);
    expect(await outcome(create("once-2"))).toBe("AlreadyExists");
    expect(await outcome(create(""))).toBe("AlreadyExists");
  });
}

describe("request_id repeats on Postgres", () => describeRepeats("postgres"));
describe("request_id repeats on PGlite", () => describeRepeats("pglite"));
