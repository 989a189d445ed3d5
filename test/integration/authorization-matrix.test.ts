/**
 * The authorization matrix (README "Keys and scopes"): every admin RPC, enumerated from the
 * schema so an RPC added later needs a row here, called on org `alpha`'s resources by every kind
 * of caller but alpha's own admins:
 *
 * - alpha's application key (`SCOPE_INVOKE` only): `PermissionDenied`, whatever the RPC;
 * - an admin of org `bravo` holding every scope but the platform's: `NotFound` for anything
 *   naming alpha, exactly as for an org that does not exist — same code and the same message but
 *   for the org's name, so nothing tells the two apart — and `PermissionDenied` for the
 *   platform-only RPCs; a list it may call shows none of alpha's rows;
 * - a revoked key, an expired key and a well-formed unknown one (each once holding every scope):
 *   `Unauthenticated` with the one message.
 *
 * Afterwards alpha reads exactly as before: no refused call changed anything.
 */
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { readdirSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { Verb } from "../../gen/ts/switchboard/v1/common_pb.js";
import { BudgetPeriod, GuardrailStage } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { GuardrailAction } from "../../gen/ts/switchboard/v1/guardrail_service_pb.js";
import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import { UNAUTHENTICATED_MESSAGE } from "../../server/auth/authenticator.js";
import { generateSecret } from "../../server/auth/key-format.js";
import { ALL_SCOPES } from "../../server/auth/scopes.js";
import { clientsFor, keyedTransport, type KeyedClients } from "../support/clients.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";

const genDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../gen/ts/switchboard/v1");
const services: DescService[] = [];
for (const file of readdirSync(genDir).filter((f) => f.endsWith("_pb.ts")).sort()) {
  for (const value of Object.values((await import(path.join(genDir, file))) as Record<string, unknown>)) {
    const desc = value as { kind?: string; typeName?: string };
    if (desc?.kind === "service" && desc.typeName !== "switchboard.v1.CapabilityService") services.push(desc as DescService);
  }
}
const methods: DescMethod[] = services.flatMap((s) => s.methods);
const fullName = (m: DescMethod) => `${m.parent.typeName}/${m.name}`;

/** A controllable clock, so a key can be made to expire without waiting. */
const clock = { offset: 0, now: () => Date.now() + clock.offset };
const window = () => ({ startTime: timestampFromMs(clock.now() - 3_600_000), endTime: timestampFromMs(clock.now() + 3_600_000) });
const route = { targets: [{ provider: "sandbox", model: "sandbox-fast" }] };
const version = (text: string) => ({ messages: [{ role: Role.SYSTEM, template: `${text}\n{{requirements}}` }, { role: Role.USER, template: "{{text}}" }] });
const rule = { id: "deny", stage: GuardrailStage.INPUT, action: GuardrailAction.BLOCK, check: { case: "denyList" as const, value: { phrases: ["launch codes"] } } };
const mask = (...paths: string[]) => ({ paths });

/**
 * One row of the matrix: the request naming org `o`'s resources; `platform` when the RPC needs
 * SCOPE_PLATFORM_ADMIN whatever it names; `list` when it reads rows without naming an org (then
 * another org's admin gets `ok` and must see none of alpha's).
 */
interface Row {
  req: (o: string) => Record<string, unknown>;
  platform?: true;
  list?: true;
}
const ROWS: Record<string, Row> = {
  "switchboard.v1.TenantService/CreateOrg": { req: () => ({ orgId: "intruder", org: {} }), platform: true },
  "switchboard.v1.TenantService/GetOrg": { req: (o) => ({ name: `orgs/${o}` }) },
  "switchboard.v1.TenantService/ListOrgs": { req: () => ({}), list: true },
  "switchboard.v1.TenantService/UpdateOrg": { req: (o) => ({ org: { name: `orgs/${o}`, displayName: "pwned" }, updateMask: mask("display_name") }) },
  "switchboard.v1.TenantService/DeleteOrg": { req: (o) => ({ name: `orgs/${o}` }), platform: true },
  "switchboard.v1.TenantService/CreateTeam": { req: (o) => ({ parent: `orgs/${o}`, teamId: "intruders", team: {} }) },
  "switchboard.v1.TenantService/GetTeam": { req: (o) => ({ name: `orgs/${o}/teams/web` }) },
  "switchboard.v1.TenantService/ListTeams": { req: (o) => ({ parent: `orgs/${o}` }) },
  "switchboard.v1.TenantService/UpdateTeam": { req: (o) => ({ team: { name: `orgs/${o}/teams/web`, displayName: "pwned" }, updateMask: mask("display_name") }) },
  "switchboard.v1.TenantService/DeleteTeam": { req: (o) => ({ name: `orgs/${o}/teams/web` }) },
  "switchboard.v1.KeyService/CreateKey": { req: (o) => ({ parent: `orgs/${o}/teams/web`, keyId: "intruder", key: { scopes: [Scope.INVOKE] } }) },
  "switchboard.v1.KeyService/GetKey": { req: (o) => ({ name: `orgs/${o}/teams/web/keys/app` }) },
  "switchboard.v1.KeyService/ListKeys": { req: (o) => ({ parent: `orgs/${o}/teams/-`, showInactive: true }) },
  "switchboard.v1.KeyService/UpdateKey": { req: (o) => ({ key: { name: `orgs/${o}/teams/web/keys/app`, displayName: "pwned" }, updateMask: mask("display_name") }) },
  "switchboard.v1.KeyService/RotateKey": { req: (o) => ({ name: `orgs/${o}/teams/web/keys/app` }) },
  "switchboard.v1.KeyService/RevokeKey": { req: (o) => ({ name: `orgs/${o}/teams/web/keys/app` }) },
  "switchboard.v1.CredentialService/CreateCredential": { req: (o) => ({ parent: `orgs/${o}`, credentialId: "intruder", credential: { provider: "openai" }, value: "sk-intruder-0123456789" }) },
  "switchboard.v1.CredentialService/GetCredential": { req: (o) => ({ name: `orgs/${o}/credentials/c` }) },
  "switchboard.v1.CredentialService/ListCredentials": { req: (o) => ({ parent: `orgs/${o}` }) },
  "switchboard.v1.CredentialService/UpdateCredential": { req: (o) => ({ credential: { name: `orgs/${o}/credentials/c`, displayName: "pwned" }, updateMask: mask("display_name") }) },
  "switchboard.v1.CredentialService/DeleteCredential": { req: (o) => ({ name: `orgs/${o}/credentials/c` }) },
  "switchboard.v1.CredentialService/RewrapCredentials": { req: () => ({}), platform: true },
  "switchboard.v1.RouteService/CreateRoute": { req: (o) => ({ parent: `orgs/${o}`, routeId: "intruder", route }) },
  "switchboard.v1.RouteService/GetRoute": { req: (o) => ({ name: `orgs/${o}/routes/r` }) },
  "switchboard.v1.RouteService/ListRoutes": { req: (o) => ({ parent: `orgs/${o}` }) },
  "switchboard.v1.RouteService/UpdateRoute": { req: (o) => ({ route: { ...route, name: `orgs/${o}/routes/r`, description: "pwned" }, updateMask: mask("description") }) },
  "switchboard.v1.RouteService/DeleteRoute": { req: (o) => ({ name: `orgs/${o}/routes/r` }) },
  "switchboard.v1.BudgetService/CreateBudget": { req: (o) => ({ parent: `orgs/${o}`, budgetId: "intruder", budget: { target: `orgs/${o}`, limitMicrosUsd: 1n, period: BudgetPeriod.TOTAL } }) },
  "switchboard.v1.BudgetService/GetBudget": { req: (o) => ({ name: `orgs/${o}/budgets/b` }) },
  "switchboard.v1.BudgetService/ListBudgets": { req: (o) => ({ parent: `orgs/${o}` }) },
  "switchboard.v1.BudgetService/GetBudgetStatus": { req: (o) => ({ name: `orgs/${o}/budgets/b` }) },
  "switchboard.v1.BudgetService/UpdateBudget": {
    req: (o) => ({ budget: { name: `orgs/${o}/budgets/b`, target: `orgs/${o}`, limitMicrosUsd: 99n, period: BudgetPeriod.TOTAL }, updateMask: mask("limit_micros_usd") }),
  },
  "switchboard.v1.BudgetService/DeleteBudget": { req: (o) => ({ name: `orgs/${o}/budgets/b` }) },
  "switchboard.v1.BudgetService/CreateRateLimit": { req: (o) => ({ parent: `orgs/${o}`, rateLimitId: "intruder", rateLimit: { target: `orgs/${o}`, requestsPerMinute: 1n } }) },
  "switchboard.v1.BudgetService/GetRateLimit": { req: (o) => ({ name: `orgs/${o}/rate-limits/rl` }) },
  "switchboard.v1.BudgetService/ListRateLimits": { req: (o) => ({ parent: `orgs/${o}` }) },
  "switchboard.v1.BudgetService/UpdateRateLimit": {
    req: (o) => ({ rateLimit: { name: `orgs/${o}/rate-limits/rl`, target: `orgs/${o}`, requestsPerMinute: 1n }, updateMask: mask("requests_per_minute") }),
  },
  "switchboard.v1.BudgetService/DeleteRateLimit": { req: (o) => ({ name: `orgs/${o}/rate-limits/rl` }) },
  "switchboard.v1.PromptService/CreatePromptTemplate": {
    req: (o) => ({ parent: `orgs/${o}`, promptId: "intruder", template: { verb: Verb.SUMMARIZE }, firstVersion: version("intruder") }),
  },
  "switchboard.v1.PromptService/GetPromptTemplate": { req: (o) => ({ name: `orgs/${o}/prompts/p` }) },
  "switchboard.v1.PromptService/ListPromptTemplates": { req: (o) => ({ parent: `orgs/${o}` }) },
  "switchboard.v1.PromptService/UpdatePromptTemplate": {
    req: (o) => ({ template: { name: `orgs/${o}/prompts/p`, verb: Verb.SUMMARIZE, description: "pwned" }, updateMask: mask("description") }),
  },
  "switchboard.v1.PromptService/DeletePromptTemplate": { req: (o) => ({ name: `orgs/${o}/prompts/p` }) },
  "switchboard.v1.PromptService/CreatePromptVersion": { req: (o) => ({ parent: `orgs/${o}/prompts/p`, version: version("intruder"), activate: true }) },
  "switchboard.v1.PromptService/GetPromptVersion": { req: (o) => ({ name: `orgs/${o}/prompts/p/versions/1` }) },
  "switchboard.v1.PromptService/ListPromptVersions": { req: (o) => ({ parent: `orgs/${o}/prompts/p` }) },
  "switchboard.v1.PromptService/ActivatePromptVersion": { req: (o) => ({ name: `orgs/${o}/prompts/p/versions/1` }) },
  "switchboard.v1.PromptService/RenderPromptPreview": { req: (o) => ({ prompt: { name: `orgs/${o}/prompts/p` }, variables: { text: "x", requirements: "" } }) },
  "switchboard.v1.GuardrailService/CreateGuardrailPolicy": { req: (o) => ({ parent: `orgs/${o}`, policyId: "intruder", policy: { rules: [rule] } }) },
  "switchboard.v1.GuardrailService/GetGuardrailPolicy": { req: (o) => ({ name: `orgs/${o}/guardrail-policies/g` }) },
  "switchboard.v1.GuardrailService/ListGuardrailPolicies": { req: (o) => ({ parent: `orgs/${o}` }) },
  "switchboard.v1.GuardrailService/UpdateGuardrailPolicy": {
    req: (o) => ({ policy: { name: `orgs/${o}/guardrail-policies/g`, description: "pwned", rules: [rule] }, updateMask: mask("description") }),
  },
  "switchboard.v1.GuardrailService/DeleteGuardrailPolicy": { req: (o) => ({ name: `orgs/${o}/guardrail-policies/g` }) },
  // A dry run of a policy given inline: it names no org, so another org's admin may run it.
  "switchboard.v1.GuardrailService/EvaluateGuardrailPolicy": { req: () => ({ policy: { rules: [rule] }, text: "the launch codes", stage: GuardrailStage.INPUT }), list: true },
  "switchboard.v1.CacheService/GetCacheStats": { req: (o) => ({ parent: `orgs/${o}` }) },
  "switchboard.v1.CacheService/PurgeCache": { req: (o) => ({ parent: `orgs/${o}` }) },
  "switchboard.v1.UsageService/QueryUsage": { req: (o) => ({ parent: `orgs/${o}`, ...window() }) },
  "switchboard.v1.UsageService/ListUsageRecords": { req: (o) => ({ parent: `orgs/${o}`, ...window() }) },
  "switchboard.v1.UsageService/ExportUsage": { req: (o) => ({ query: { parent: `orgs/${o}`, ...window() } }) },
  "switchboard.v1.AuditService/ListAuditEvents": { req: (o) => ({ parent: `orgs/${o}` }) },
  "switchboard.v1.AuditService/VerifyAuditChain": { req: () => ({}), platform: true },
};

let gw: TestGateway;
let platform: KeyedClients;
const secrets: Record<"app" | "reader" | "bravo" | "revoked" | "expired" | "unknown", string> = {
  app: "",
  reader: "",
  bravo: "",
  revoked: "",
  expired: "",
  unknown: generateSecret(),
};

/** Calls any RPC by its descriptor (a stream read to its end): the code name, message and response. */
async function invoke(method: DescMethod, req: Record<string, unknown>, secret: string): Promise<{ code: string; message: string; res?: unknown }> {
  const client = createClient(method.parent, keyedTransport(gw.url, secret)) as unknown as Record<string, (r: unknown) => unknown>;
  try {
    const call = client[method.localName]!(req);
    const res: unknown[] = [];
    if (method.methodKind === "server_streaming") for await (const m of call as AsyncIterable<unknown>) res.push(m);
    else res.push(await call);
    return { code: "ok", message: "", res };
  } catch (err) {
    const e = ConnectError.from(err);
    return { code: Code[e.code], message: e.rawMessage };
  }
}
const json = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? String(x) : x instanceof Uint8Array ? Buffer.from(x).toString() : x));

/** Everything of alpha an admin can read, to compare before and after the matrix. */
async function alphaSnapshot(): Promise<string> {
  const p = platform;
  const parts = await Promise.all([
    p.tenants.getOrg({ name: "orgs/alpha" }),
    p.tenants.listTeams({ parent: "orgs/alpha" }),
    p.keys.listKeys({ parent: "orgs/alpha/teams/-", showInactive: true }),
    p.credentials.listCredentials({ parent: "orgs/alpha" }),
    p.routes.listRoutes({ parent: "orgs/alpha" }),
    p.budgets.listBudgets({ parent: "orgs/alpha" }),
    p.budgets.listRateLimits({ parent: "orgs/alpha" }),
    p.prompts.listPromptTemplates({ parent: "orgs/alpha" }),
    p.prompts.listPromptVersions({ parent: "orgs/alpha/prompts/p" }),
    p.guardrails.listGuardrailPolicies({ parent: "orgs/alpha" }),
  ]);
  // last_used_time moves with use, not with a change.
  return json(parts).replace(/,?"lastUsedTime":\{[^}]*\}/g, "");
}
let before = "";

beforeAll(async () => {
  gw = await startTestGateway({ clock });
  platform = clientsFor(gw.url, gw.adminKey);
  const orgAdmin = ALL_SCOPES.filter((s) => s !== Scope.PLATFORM_ADMIN);
  for (const org of ["alpha", "bravo"]) {
    await platform.tenants.createOrg({ orgId: org, org: {} });
    await platform.tenants.createTeam({ parent: `orgs/${org}`, teamId: "web", team: {} });
  }
  const key = async (keyId: string, scopes: Scope[], expireTime?: ReturnType<typeof timestampFromMs>) =>
    (await platform.keys.createKey({ parent: "orgs/alpha/teams/web", keyId, key: { scopes, ...(expireTime ? { expireTime } : {}) } })).secret;
  secrets.app = await key("app", [Scope.INVOKE]);
  secrets.reader = await key("reader", [Scope.ROUTES_READ]);
  secrets.revoked = await key("revoked", orgAdmin);
  secrets.expired = await key("expired", orgAdmin, timestampFromMs(clock.now() + 60_000));
  secrets.bravo = (await platform.keys.createKey({ parent: "orgs/bravo/teams/web", keyId: "admin", key: { scopes: orgAdmin } })).secret;
  // Each works before it is revoked or lapses (and is cached by then).
  for (const s of [secrets.revoked, secrets.expired]) expect(await clientsFor(gw.url, s).probe()).toBe("ok");
  await platform.keys.revokeKey({ name: "orgs/alpha/teams/web/keys/revoked" });
  clock.offset += 120_000;

  await platform.credentials.createCredential({ parent: "orgs/alpha", credentialId: "c", credential: { provider: "openai" }, value: "sk-alpha-secret-0123456789" });
  await platform.routes.createRoute({ parent: "orgs/alpha", routeId: "r", route });
  await platform.budgets.createBudget({ parent: "orgs/alpha", budgetId: "b", budget: { target: "orgs/alpha", limitMicrosUsd: 10_000_000n, period: BudgetPeriod.TOTAL } });
  await platform.budgets.createRateLimit({ parent: "orgs/alpha", rateLimitId: "rl", rateLimit: { target: "orgs/alpha", requestsPerMinute: 1000n } });
  await platform.prompts.createPromptTemplate({ parent: "orgs/alpha", promptId: "p", template: { verb: Verb.SUMMARIZE }, firstVersion: version("alpha secret prompt") });
  await platform.guardrails.createGuardrailPolicy({ parent: "orgs/alpha", policyId: "g", policy: { rules: [rule] } });
  before = await alphaSnapshot();
}, 60_000);
afterAll(async () => {
  await gw?.close();
});

describe("the authorization matrix over every admin RPC", () => {
  it("has a row for every admin RPC and none for an RPC that does not exist", () => {
    const names = methods.map(fullName);
    expect(names.filter((n) => ROWS[n] === undefined)).toEqual([]);
    expect(Object.keys(ROWS).filter((n) => !names.includes(n))).toEqual([]);
  });

  it.each(methods.map((m) => [fullName(m), m] as const))("%s", async (name, method) => {
    const row = ROWS[name]!;
    const alpha = row.req("alpha");

    for (const kind of ["revoked", "expired", "unknown"] as const) {
      const got = await invoke(method, alpha, secrets[kind]);
      expect([kind, got.code, got.message]).toEqual([kind, "Unauthenticated", UNAUTHENTICATED_MESSAGE]);
    }
    const app = await invoke(method, alpha, secrets.app);
    expect(["app key", app.code]).toEqual(["app key", "PermissionDenied"]);

    const other = await invoke(method, alpha, secrets.bravo);
    if (row.platform) {
      expect(["other org", other.code]).toEqual(["other org", "PermissionDenied"]);
    } else if (row.list) {
      expect(["other org", other.code]).toEqual(["other org", "ok"]);
      expect(json(other.res)).not.toContain("alpha");
    } else {
      expect(["other org", other.code, other.message]).toEqual(["other org", "NotFound", expect.any(String)]);
      // An org that does not exist answers the same, but for its name.
      const missing = await invoke(method, row.req("nosuch"), secrets.bravo);
      expect(["missing org", missing.code, missing.message.replaceAll("nosuch", "alpha")]).toEqual(["missing org", other.code, other.message]);
    }
  });

  it("answers the OpenAI-compatible surface alike: 401 for a dead key, 403 without SCOPE_INVOKE, another org's route as absent", async () => {
    const call = async (secret: string, model: string) => {
      const res = await fetch(`${gw.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
        body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] }),
      });
      return { status: res.status, body: (await res.json()) as { error?: { message?: string; code?: string } } };
    };
    const models = async (secret: string) => {
      const res = await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } });
      return { status: res.status, ids: res.ok ? ((await res.json()) as { data: { id: string }[] }).data.map((m) => m.id) : [] };
    };
    for (const kind of ["revoked", "expired", "unknown"] as const) {
      expect([kind, (await call(secrets[kind], "r")).status, (await models(secrets[kind])).status]).toEqual([kind, 401, 401]);
    }
    expect((await call(secrets.reader, "r")).status).toBe(403);
    expect((await call(secrets.app, "r")).status).toBe(200);
    expect((await models(secrets.app)).ids).toContain("r");
    // Bravo's key: alpha's route is no model of its, exactly like one that does not exist.
    expect((await models(secrets.bravo)).ids).not.toContain("r");
    const theirs = await call(secrets.bravo, "r");
    const none = await call(secrets.bravo, "no-such-route");
    expect(theirs.status).toBe(none.status);
    expect(theirs.body.error?.code).toBe(none.body.error?.code);
    expect(theirs.body.error?.message?.replaceAll('"r"', "X").replaceAll(" r ", " X ")).toBe(
      none.body.error?.message?.replaceAll('"no-such-route"', "X").replaceAll(" no-such-route ", " X "),
    );
  });

  it("left alpha exactly as it was", async () => {
    expect(await alphaSnapshot()).toBe(before);
  });
});
