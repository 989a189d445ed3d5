/**
 * Admin RPCs at their edges, on Postgres and on the embedded PGlite: deleting an org that still
 * has (or once had) routes and limits, page tokens whose position was edited (the query hash does
 * not cover it, so any caller can build one), the audit record of a repeated CreateKey, and
 * repeats of another org's create by a key that cannot see that org.
 */
import { create, toJsonString } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { Verb } from "../../gen/ts/switchboard/v1/common_pb.js";
import { BudgetPeriod } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import { ListUsageRecordsRequestSchema, QueryUsageRequestSchema } from "../../gen/ts/switchboard/v1/usage_service_pb.js";
import { nextPageToken } from "../../server/services/page-token.js";
import { clientsFor, outcome, type KeyedClients } from "../support/clients.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { createTestDatabase, type TestDatabase } from "../support/postgres.js";

/** `token` with its query hash kept and its position replaced. */
function edited(token: string, after: string): string {
  const { q } = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as { q: string };
  return Buffer.from(JSON.stringify({ a: after, q }), "utf8").toString("base64url");
}

const lastHour = () => ({
  parent: "orgs/system",
  startTime: timestampFromDate(new Date(Date.now() - 3_600_000)),
  endTime: timestampFromDate(new Date(Date.now() + 3_600_000)),
});

function describeEdges(engine: "postgres" | "pglite"): void {
  let database: TestDatabase | undefined;
  let gw: TestGateway;
  let platform: KeyedClients;

  beforeAll(async () => {
    if (engine === "postgres") database = await createTestDatabase();
    gw = await startTestGateway(database ? { databaseUrl: database.url } : {});
    platform = clientsFor(gw.url, gw.adminKey);
  });
  afterAll(async () => {
    await gw?.close();
    await database?.drop();
  });

  it("DeleteOrg: an org whose routes were deleted goes (they are removed with it)", async () => {
    await platform.tenants.createOrg({ orgId: "gone-route", org: {} });
    await platform.routes.createRoute({ parent: "orgs/gone-route", routeId: "r", route: { targets: [{ provider: "sandbox", model: "sandbox-fast" }] } });
    await platform.routes.deleteRoute({ name: "orgs/gone-route/routes/r" });
    expect(await outcome(platform.tenants.deleteOrg({ name: "orgs/gone-route" }))).toBe("ok");
    expect(await outcome(platform.tenants.getOrg({ name: "orgs/gone-route" }))).toBe("NotFound");
  });

  it("DeleteOrg: a live budget or rate limit is FailedPrecondition, and once deleted the org goes", async () => {
    await platform.tenants.createOrg({ orgId: "with-limits", org: {} });
    await platform.budgets.createBudget({ parent: "orgs/with-limits", budgetId: "b", budget: { target: "orgs/with-limits", limitMicrosUsd: 1n, period: BudgetPeriod.TOTAL } });
    await platform.budgets.createRateLimit({ parent: "orgs/with-limits", rateLimitId: "rl", rateLimit: { target: "orgs/with-limits", requestsPerMinute: 10n } });
    expect(await outcome(platform.tenants.deleteOrg({ name: "orgs/with-limits" }))).toBe("FailedPrecondition");
    await platform.budgets.deleteBudget({ name: "orgs/with-limits/budgets/b" });
    expect(await outcome(platform.tenants.deleteOrg({ name: "orgs/with-limits" }))).toBe("FailedPrecondition");
    await platform.budgets.deleteRateLimit({ name: "orgs/with-limits/rate-limits/rl" });
    expect(await outcome(platform.tenants.deleteOrg({ name: "orgs/with-limits" }))).toBe("ok");
  });

  it("an edited page token is InvalidArgument on every list whose position is not an opaque id", async () => {
    await platform.prompts.createPromptTemplate({
      parent: "orgs/system",
      promptId: "paged",
      template: { verb: Verb.CHAT },
      firstVersion: { messages: [{ role: Role.SYSTEM, template: "one" }] },
    });
    await platform.prompts.createPromptVersion({ parent: "orgs/system/prompts/paged", version: { messages: [{ role: Role.SYSTEM, template: "two" }] } });
    const versions = await platform.prompts.listPromptVersions({ parent: "orgs/system/prompts/paged", pageSize: 1 });
    expect(versions.nextPageToken).not.toBe("");
    for (const after of ["x", "1e3", "99999999999"]) {
      const pageToken = edited(versions.nextPageToken, after);
      expect([after, await outcome(platform.prompts.listPromptVersions({ parent: "orgs/system/prompts/paged", pageSize: 1, pageToken }))]).toEqual([after, "InvalidArgument"]);
    }

    const events = await platform.audit.listAuditEvents({ parent: "", pageSize: 1 });
    expect(events.nextPageToken).not.toBe("");
    for (const after of ["9999999999999999999", "-1", "x"]) {
      const pageToken = edited(events.nextPageToken, after);
      expect([after, await outcome(platform.audit.listAuditEvents({ parent: "", pageSize: 1, pageToken }))]).toEqual([after, "InvalidArgument"]);
    }

    // The usage lists' tokens, built as the service builds them for these exact requests.
    const query = lastHour();
    const usageQuery = `QueryUsage ${toJsonString(QueryUsageRequestSchema, create(QueryUsageRequestSchema, query))}`;
    for (const after of ["x", "-5", "1.5"]) {
      const pageToken = nextPageToken(after, usageQuery);
      expect([after, await outcome(platform.usage.queryUsage({ ...query, pageToken }))]).toEqual([after, "InvalidArgument"]);
    }
    const recordsQuery = `ListUsageRecords ${toJsonString(ListUsageRecordsRequestSchema, create(ListUsageRecordsRequestSchema, query))}`;
    for (const after of [JSON.stringify(["not a time", "c", 1]), JSON.stringify([new Date().toISOString(), "c", 1.5]), "not json"]) {
      const pageToken = nextPageToken(after, recordsQuery);
      expect([after, await outcome(platform.usage.listUsageRecords({ ...query, pageToken }))]).toEqual([after, "InvalidArgument"]);
    }
  });

  it("a repeated CreateKey (same request_id, generated key id) is audited against the key it returns", async () => {
    const request = { parent: "orgs/system/teams/admins", key: { scopes: [Scope.INVOKE] }, requestId: `audit-repeat-${engine}` };
    const one = await platform.keys.createKey(request);
    const two = await platform.keys.createKey(request);
    expect(two.key?.name).toBe(one.key?.name);
    const events = await platform.audit.listAuditEvents({ parent: "", action: "switchboard.v1.KeyService/CreateKey", pageSize: 2 });
    expect(events.events.map((e) => e.resource)).toEqual([one.key!.name, one.key!.name]);
  });

  it("a key that cannot see an org gets NotFound when it repeats a create made there (no replay of another org's key or team)", async () => {
    await platform.tenants.createOrg({ orgId: "victim", org: {} });
    await platform.tenants.createTeam({ parent: "orgs/victim", teamId: "t", team: {} });
    const keyRequest = { parent: "orgs/victim/teams/t", keyId: "app", key: { scopes: [Scope.INVOKE], displayName: "victim app" }, requestId: "provision-victim-app" };
    await platform.keys.createKey(keyRequest);
    // Keys of the platform admin's own org, without SCOPE_PLATFORM_ADMIN: org victim is not theirs.
    const mint = async (scopes: Scope[]) => clientsFor(gw.url, (await platform.keys.createKey({ parent: "orgs/system/teams/admins", key: { scopes } })).secret);
    const insider = await mint([Scope.KEYS_READ, Scope.KEYS_WRITE, Scope.INVOKE]);
    expect(await outcome(insider.keys.getKey({ name: "orgs/victim/teams/t/keys/app" }))).toBe("NotFound");
    expect(await outcome(insider.keys.createKey(keyRequest))).toBe("NotFound");
    const teamRequest = { parent: "orgs/victim", teamId: "ops", team: { displayName: "victim ops" }, requestId: "provision-victim-ops" };
    await platform.tenants.createTeam(teamRequest);
    const tenantsWriter = await mint([Scope.TENANTS_WRITE]);
    expect(await outcome(tenantsWriter.tenants.createTeam(teamRequest))).toBe("NotFound");
  });
}

describe("admin edge cases on Postgres", () => describeEdges("postgres"));
describe("admin edge cases on PGlite", () => describeEdges("pglite"));
