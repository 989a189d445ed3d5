/**
 * a page token is base64url JSON that any caller can build (the query hash is a hash
 * of the request's own fields). Lists whose position is an opaque internal id pass the decoded
 * position straight to Postgres (`id > $1`). A position holding U+0000 cannot be sent as Postgres
 * text, so the query fails and the call answers `internal` instead of `invalid_argument`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nextPageToken } from "../../server/services/page-token.js";
import { clientsFor, outcome, type KeyedClients } from "../support/clients.js";
import type { TestGateway } from "../support/gateway.js";
import { startPostgresGateway } from "../support/postgres-gateway.js";

const NUL = nextPageToken.bind(null, "\u0000");

describe("a page token whose position holds U+0000", () => {
  let gw: TestGateway;
  let platform: KeyedClients;

  beforeAll(async () => {
    gw = await startPostgresGateway();
    platform = clientsFor(gw.url, gw.adminKey);
  });
  afterAll(async () => {
    await gw?.close();
  });

  it("is InvalidArgument on every list, never Internal", async () => {
    const calls: Record<string, () => Promise<unknown>> = {
      listOrgs: () => platform.tenants.listOrgs({ pageToken: NUL("ListOrgs") }),
      listTeams: () => platform.tenants.listTeams({ parent: "orgs/system", pageToken: NUL("ListTeams orgs/system") }),
      listKeys: () => platform.keys.listKeys({ parent: "orgs/system/teams/-", pageToken: NUL("ListKeys orgs/system/teams/- false") }),
      listRoutes: () => platform.routes.listRoutes({ parent: "", pageToken: NUL("routes:") }),
      listCredentials: () => platform.credentials.listCredentials({ parent: "orgs/system", pageToken: NUL("ListCredentials orgs/system") }),
      listBudgets: () => platform.budgets.listBudgets({ parent: "orgs/system", pageToken: NUL("ListBudgets orgs/system ") }),
      listRateLimits: () => platform.budgets.listRateLimits({ parent: "orgs/system", pageToken: NUL("ListRateLimits orgs/system") }),
      listGuardrailPolicies: () => platform.guardrails.listGuardrailPolicies({ parent: "", pageToken: NUL("guardrail-policies:") }),
      listPromptTemplates: () => platform.prompts.listPromptTemplates({ parent: "", pageToken: NUL("ListPromptTemplates  0") }),
    };
    const got: Record<string, string> = {};
    for (const [name, call] of Object.entries(calls)) got[name] = await outcome(call());
    expect(got).toEqual(Object.fromEntries(Object.keys(calls).map((n) => [n, "InvalidArgument"])));
  });
});
