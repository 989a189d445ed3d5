/**
 * P21 completeness, checked from the schema rather than by example: every RPC of every admin
 * service (enumerated from the generated descriptors, so a service or method added later is
 * picked up) is classified as mutating or read-only by its name, the classification must agree
 * with the method's `(required_scope)` (the audit interceptor's rule: `*_WRITE` or
 * `SCOPE_PLATFORM_ADMIN` is audited), and each has a fixture here — an RPC without one fails its
 * own case, by name. Against one test gateway, for each RPC in turn:
 *
 * - mutating, successful: exactly one event — action, actor, resource, outcome `SUCCESS`; `before`
 *   for a change of something that existed (Update/Delete/Revoke/Rotate/Activate), `after` unless
 *   it was deleted;
 * - mutating, failed (not found / already exists): exactly one `FAILURE` event with the masked
 *   request in `after.request` (README "Audit log": "successful, denied or failed");
 * - any RPC by a key without its scope: exactly one `DENIED` event (an access denial is recorded
 *   for every `switchboard.v1` method; only an audited method keeps the request);
 * - read-only, successful: no event.
 *
 * Throughout: every `(switchboard.v1.sensitive)` field that appears reads `[sensitive]`, and no
 * secret used or returned (credential values, webhook and guardrail URLs, key secrets) appears in
 * any event nor in any raw `audit_events` row.
 *
 * Classification edge cases (decided here, by what the RPC does): `ExportUsage` streams a report
 * (read-only); `VerifyAuditChain` recomputes hashes (read-only); `EvaluateGuardrailPolicy` is a
 * dry run of a policy given inline (read-only); `RenderPromptPreview` renders without storing
 * (read-only); `PurgeCache` deletes cache entries and `RewrapCredentials` re-encrypts every
 * credential (mutating). `CapabilityService` (the verbs) is not an admin service and is excluded.
 */
import { getOption, type DescField, type DescMessage, type DescMethod, type DescService, type JsonValue } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { sql } from "kysely";
import { readdirSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditOutcome, type AuditEvent } from "../../gen/ts/switchboard/v1/audit_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { Verb } from "../../gen/ts/switchboard/v1/common_pb.js";
import { BudgetPeriod, GuardrailStage } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { GuardrailAction } from "../../gen/ts/switchboard/v1/guardrail_service_pb.js";
import { required_scope, Scope, sensitive } from "../../gen/ts/switchboard/v1/options_pb.js";
import { isAuditedScope } from "../../server/audit/audit-interceptor.js";
import { MASKED } from "../../server/audit/mask.js";
import { BOOTSTRAP_KEY_NAME } from "../../server/auth/bootstrap.js";
import { clientsFor, keyedTransport, type KeyedClients } from "../support/clients.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";

// ---- The schema: every admin service and RPC, from the generated descriptors. ----

const genDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../gen/ts/switchboard/v1");
/** Not admin services: the verbs (audited only on refusal, covered by the audit interceptor's own tests). */
const NOT_ADMIN = new Set(["switchboard.v1.CapabilityService"]);
const services: DescService[] = [];
const sensitiveFields: DescField[] = [];
for (const file of readdirSync(genDir).filter((f) => f.endsWith("_pb.ts")).sort()) {
  const mod = (await import(path.join(genDir, file))) as Record<string, unknown>;
  for (const value of Object.values(mod)) {
    const desc = value as { kind?: string };
    if (desc?.kind === "service" && !NOT_ADMIN.has((desc as DescService).typeName)) services.push(desc as DescService);
    if (desc?.kind === "message") for (const f of (desc as DescMessage).fields) if (getOption(f, sensitive)) sensitiveFields.push(f);
  }
}
const methods: DescMethod[] = services.flatMap((s) => s.methods);
const fullName = (m: DescMethod) => `${m.parent.typeName}/${m.name}`;
/** JSON names of the `(sensitive)` fields: wherever one appears in an event it must read `[sensitive]`. */
const SENSITIVE_JSON = new Set(sensitiveFields.map((f) => f.jsonName));

const MUTATING = ["Create", "Update", "Delete", "Rotate", "Revoke", "Activate", "Rewrap", "Purge"];
const READ_ONLY = ["Get", "List", "Query", "Export", "Verify", "Evaluate", "Render"];
type Kind = "mutating" | "read-only";
function kindByName(m: DescMethod): Kind | undefined {
  if (MUTATING.some((p) => m.name.startsWith(p))) return "mutating";
  if (READ_ONLY.some((p) => m.name.startsWith(p))) return "read-only";
  return undefined;
}
/** Expected on a success: `before` when it changed something that existed; `after` unless it is gone. */
const expectsBefore = (m: DescMethod) => ["Update", "Delete", "Rotate", "Revoke", "Activate"].some((p) => m.name.startsWith(p));
const expectsAfter = (m: DescMethod) => !m.name.startsWith("Delete");

// ---- Fixtures: one per RPC, run in this order. ----

const CANARY_CREDENTIAL = "canary-credential-value-0001";
const CANARY_CREDENTIAL_2 = "canary-credential-value-0002";
const CANARY_WEBHOOK = "https://hooks.example/canary-webhook-token-0003";
const CANARY_WEBHOOK_2 = "https://hooks.example/canary-webhook-token-0004";
const CANARY_EXTERNAL = "https://user:canary-external-token-0005@guard.example/check";

interface Fixture {
  req: Record<string, unknown>;
  /** The audited resource (mutating RPCs). */
  resource?: string;
  /** A failing call (mutating RPCs): its request and resource. */
  fail?: { req: Record<string, unknown>; resource: string };
}
const window = () => ({ startTime: timestampFromDate(new Date(Date.now() - 3_600_000)), endTime: timestampFromDate(new Date(Date.now() + 3_600_000)) });
const route = { targets: [{ provider: "sandbox", model: "sandbox-fast" }] };
const version = (text: string) => ({ messages: [{ role: Role.USER, template: text }] });
const externalRule = { id: "ext", stage: GuardrailStage.INPUT, action: GuardrailAction.BLOCK, check: { case: "external", value: { url: CANARY_EXTERNAL } } };
const denyRule = { id: "deny", stage: GuardrailStage.INPUT, action: GuardrailAction.BLOCK, check: { case: "denyList", value: { phrases: ["launch codes"] } } };

const PLAN: [string, Fixture][] = [
  // tenants
  ["switchboard.v1.TenantService/CreateOrg", { req: { orgId: "acme", org: { displayName: "Acme" } }, resource: "orgs/acme", fail: { req: { orgId: "acme", org: {} }, resource: "orgs/acme" } }],
  ["switchboard.v1.TenantService/GetOrg", { req: { name: "orgs/acme" } }],
  ["switchboard.v1.TenantService/ListOrgs", { req: {} }],
  ["switchboard.v1.TenantService/UpdateOrg", { req: { org: { name: "orgs/acme", displayName: "Acme Inc" }, updateMask: { paths: ["display_name"] } }, resource: "orgs/acme", fail: { req: { org: { name: "orgs/missing", displayName: "x" }, updateMask: { paths: ["display_name"] } }, resource: "orgs/missing" } }],
  ["switchboard.v1.TenantService/CreateTeam", { req: { parent: "orgs/acme", teamId: "web", team: {} }, resource: "orgs/acme/teams/web", fail: { req: { parent: "orgs/acme", teamId: "web", team: {} }, resource: "orgs/acme/teams/web" } }],
  ["switchboard.v1.TenantService/GetTeam", { req: { name: "orgs/acme/teams/web" } }],
  ["switchboard.v1.TenantService/ListTeams", { req: { parent: "orgs/acme" } }],
  ["switchboard.v1.TenantService/UpdateTeam", { req: { team: { name: "orgs/acme/teams/web", displayName: "Web" }, updateMask: { paths: ["display_name"] } }, resource: "orgs/acme/teams/web", fail: { req: { team: { name: "orgs/acme/teams/missing", displayName: "x" }, updateMask: { paths: ["display_name"] } }, resource: "orgs/acme/teams/missing" } }],
  // keys
  ["switchboard.v1.KeyService/CreateKey", { req: { parent: "orgs/acme/teams/web", keyId: "ci", key: { scopes: [Scope.INVOKE] } }, resource: "orgs/acme/teams/web/keys/ci", fail: { req: { parent: "orgs/acme/teams/web", keyId: "ci", key: {} }, resource: "orgs/acme/teams/web/keys/ci" } }],
  ["switchboard.v1.KeyService/GetKey", { req: { name: "orgs/acme/teams/web/keys/ci" } }],
  ["switchboard.v1.KeyService/ListKeys", { req: { parent: "orgs/acme/teams/-" } }],
  ["switchboard.v1.KeyService/UpdateKey", { req: { key: { name: "orgs/acme/teams/web/keys/ci", displayName: "CI" }, updateMask: { paths: ["display_name"] } }, resource: "orgs/acme/teams/web/keys/ci", fail: { req: { key: { name: "orgs/acme/teams/web/keys/missing", displayName: "x" }, updateMask: { paths: ["display_name"] } }, resource: "orgs/acme/teams/web/keys/missing" } }],
  ["switchboard.v1.KeyService/RotateKey", { req: { name: "orgs/acme/teams/web/keys/ci" }, resource: "orgs/acme/teams/web/keys/ci", fail: { req: { name: "orgs/acme/teams/web/keys/missing" }, resource: "orgs/acme/teams/web/keys/missing" } }],
  ["switchboard.v1.KeyService/RevokeKey", { req: { name: "orgs/acme/teams/web/keys/ci" }, resource: "orgs/acme/teams/web/keys/ci", fail: { req: { name: "orgs/acme/teams/web/keys/missing" }, resource: "orgs/acme/teams/web/keys/missing" } }],
  // credentials
  ["switchboard.v1.CredentialService/CreateCredential", { req: { parent: "orgs/acme", credentialId: "openai", credential: { provider: "openai" }, value: CANARY_CREDENTIAL }, resource: "orgs/acme/credentials/openai", fail: { req: { parent: "orgs/acme", credentialId: "openai", credential: { provider: "openai" }, value: CANARY_CREDENTIAL }, resource: "orgs/acme/credentials/openai" } }],
  ["switchboard.v1.CredentialService/GetCredential", { req: { name: "orgs/acme/credentials/openai" } }],
  ["switchboard.v1.CredentialService/ListCredentials", { req: { parent: "orgs/acme" } }],
  ["switchboard.v1.CredentialService/UpdateCredential", { req: { credential: { name: "orgs/acme/credentials/openai" }, updateMask: { paths: ["value"] }, value: CANARY_CREDENTIAL_2 }, resource: "orgs/acme/credentials/openai", fail: { req: { credential: { name: "orgs/acme/credentials/missing" }, updateMask: { paths: ["value"] }, value: CANARY_CREDENTIAL_2 }, resource: "orgs/acme/credentials/missing" } }],
  ["switchboard.v1.CredentialService/RewrapCredentials", { req: {}, resource: "credentials" }],
  // routes
  ["switchboard.v1.RouteService/CreateRoute", { req: { parent: "orgs/acme", routeId: "fast", route }, resource: "orgs/acme/routes/fast", fail: { req: { parent: "orgs/acme", routeId: "fast", route }, resource: "orgs/acme/routes/fast" } }],
  ["switchboard.v1.RouteService/GetRoute", { req: { name: "orgs/acme/routes/fast" } }],
  ["switchboard.v1.RouteService/ListRoutes", { req: { parent: "orgs/acme" } }],
  ["switchboard.v1.RouteService/UpdateRoute", { req: { route: { ...route, name: "orgs/acme/routes/fast", description: "fast" }, updateMask: { paths: ["description"] } }, resource: "orgs/acme/routes/fast", fail: { req: { route: { ...route, name: "orgs/acme/routes/missing", description: "x" }, updateMask: { paths: ["description"] } }, resource: "orgs/acme/routes/missing" } }],
  // budgets and rate limits
  ["switchboard.v1.BudgetService/CreateBudget", { req: { parent: "orgs/acme", budgetId: "monthly", budget: { target: "orgs/acme", limitMicrosUsd: 1_000_000n, period: BudgetPeriod.MONTHLY, alertWebhookUrl: CANARY_WEBHOOK } }, resource: "orgs/acme/budgets/monthly", fail: { req: { parent: "orgs/acme", budgetId: "monthly", budget: { target: "orgs/acme", limitMicrosUsd: 1n, period: BudgetPeriod.MONTHLY, alertWebhookUrl: CANARY_WEBHOOK } }, resource: "orgs/acme/budgets/monthly" } }],
  ["switchboard.v1.BudgetService/GetBudget", { req: { name: "orgs/acme/budgets/monthly" } }],
  ["switchboard.v1.BudgetService/ListBudgets", { req: { parent: "orgs/acme" } }],
  ["switchboard.v1.BudgetService/GetBudgetStatus", { req: { name: "orgs/acme/budgets/monthly" } }],
  ["switchboard.v1.BudgetService/UpdateBudget", { req: { budget: { name: "orgs/acme/budgets/monthly", target: "orgs/acme", period: BudgetPeriod.MONTHLY, limitMicrosUsd: 2_000_000n, alertWebhookUrl: CANARY_WEBHOOK_2 }, updateMask: { paths: ["limit_micros_usd", "alert_webhook_url"] } }, resource: "orgs/acme/budgets/monthly", fail: { req: { budget: { name: "orgs/acme/budgets/missing", target: "orgs/acme", period: BudgetPeriod.MONTHLY, limitMicrosUsd: 1n }, updateMask: { paths: ["limit_micros_usd"] } }, resource: "orgs/acme/budgets/missing" } }],
  ["switchboard.v1.BudgetService/CreateRateLimit", { req: { parent: "orgs/acme", rateLimitId: "rpm", rateLimit: { target: "orgs/acme", requestsPerMinute: 60n } }, resource: "orgs/acme/rate-limits/rpm", fail: { req: { parent: "orgs/acme", rateLimitId: "rpm", rateLimit: { target: "orgs/acme", requestsPerMinute: 60n } }, resource: "orgs/acme/rate-limits/rpm" } }],
  ["switchboard.v1.BudgetService/GetRateLimit", { req: { name: "orgs/acme/rate-limits/rpm" } }],
  ["switchboard.v1.BudgetService/ListRateLimits", { req: { parent: "orgs/acme" } }],
  ["switchboard.v1.BudgetService/UpdateRateLimit", { req: { rateLimit: { name: "orgs/acme/rate-limits/rpm", target: "orgs/acme", requestsPerMinute: 120n }, updateMask: { paths: ["requests_per_minute"] } }, resource: "orgs/acme/rate-limits/rpm", fail: { req: { rateLimit: { name: "orgs/acme/rate-limits/missing", target: "orgs/acme", requestsPerMinute: 1n }, updateMask: { paths: ["requests_per_minute"] } }, resource: "orgs/acme/rate-limits/missing" } }],
  // prompts
  ["switchboard.v1.PromptService/CreatePromptTemplate", { req: { parent: "orgs/acme", promptId: "greet", template: { verb: Verb.SUMMARIZE }, firstVersion: version("Summarize briefly: {{text}}") }, resource: "orgs/acme/prompts/greet", fail: { req: { parent: "orgs/acme", promptId: "greet", template: { verb: Verb.SUMMARIZE }, firstVersion: version("Again: {{text}}") }, resource: "orgs/acme/prompts/greet" } }],
  ["switchboard.v1.PromptService/GetPromptTemplate", { req: { name: "orgs/acme/prompts/greet" } }],
  ["switchboard.v1.PromptService/ListPromptTemplates", { req: { parent: "orgs/acme" } }],
  ["switchboard.v1.PromptService/UpdatePromptTemplate", { req: { template: { name: "orgs/acme/prompts/greet", verb: Verb.SUMMARIZE, description: "greets" }, updateMask: { paths: ["description"] } }, resource: "orgs/acme/prompts/greet", fail: { req: { template: { name: "orgs/acme/prompts/missing", verb: Verb.SUMMARIZE, description: "x" }, updateMask: { paths: ["description"] } }, resource: "orgs/acme/prompts/missing" } }],
  ["switchboard.v1.PromptService/CreatePromptVersion", { req: { parent: "orgs/acme/prompts/greet", version: version("Summarize in one line: {{text}}") }, resource: "orgs/acme/prompts/greet/versions/2", fail: { req: { parent: "orgs/acme/prompts/missing", version: version("x {{text}}") }, resource: "orgs/acme/prompts/missing" } }],
  ["switchboard.v1.PromptService/GetPromptVersion", { req: { name: "orgs/acme/prompts/greet/versions/2" } }],
  ["switchboard.v1.PromptService/ListPromptVersions", { req: { parent: "orgs/acme/prompts/greet" } }],
  ["switchboard.v1.PromptService/ActivatePromptVersion", { req: { name: "orgs/acme/prompts/greet/versions/2" }, resource: "orgs/acme/prompts/greet/versions/2", fail: { req: { name: "orgs/acme/prompts/greet/versions/9" }, resource: "orgs/acme/prompts/greet/versions/9" } }],
  ["switchboard.v1.PromptService/RenderPromptPreview", { req: { prompt: { name: "orgs/acme/prompts/greet" }, variables: { text: "hello" } } }],
  // guardrails
  ["switchboard.v1.GuardrailService/CreateGuardrailPolicy", { req: { parent: "orgs/acme", policyId: "ext", policy: { rules: [externalRule] } }, resource: "orgs/acme/guardrail-policies/ext", fail: { req: { parent: "orgs/acme", policyId: "ext", policy: { rules: [externalRule] } }, resource: "orgs/acme/guardrail-policies/ext" } }],
  ["switchboard.v1.GuardrailService/GetGuardrailPolicy", { req: { name: "orgs/acme/guardrail-policies/ext" } }],
  ["switchboard.v1.GuardrailService/ListGuardrailPolicies", { req: { parent: "orgs/acme" } }],
  ["switchboard.v1.GuardrailService/UpdateGuardrailPolicy", { req: { policy: { name: "orgs/acme/guardrail-policies/ext", description: "external", rules: [externalRule] }, updateMask: { paths: ["description"] } }, resource: "orgs/acme/guardrail-policies/ext", fail: { req: { policy: { name: "orgs/acme/guardrail-policies/missing", description: "x", rules: [externalRule] }, updateMask: { paths: ["description"] } }, resource: "orgs/acme/guardrail-policies/missing" } }],
  ["switchboard.v1.GuardrailService/EvaluateGuardrailPolicy", { req: { policy: { rules: [denyRule] }, text: "the launch codes", stage: GuardrailStage.INPUT } }],
  // cache, usage, audit
  ["switchboard.v1.CacheService/GetCacheStats", { req: { parent: "orgs/acme" } }],
  ["switchboard.v1.CacheService/PurgeCache", { req: { parent: "orgs/acme" }, resource: "orgs/acme", fail: { req: { parent: "orgs/missing" }, resource: "orgs/missing" } }],
  ["switchboard.v1.UsageService/QueryUsage", { req: { parent: "orgs/acme", ...window() } }],
  ["switchboard.v1.UsageService/ListUsageRecords", { req: { parent: "orgs/acme", ...window() } }],
  ["switchboard.v1.UsageService/ExportUsage", { req: { query: { parent: "orgs/acme", ...window() } } }],
  ["switchboard.v1.AuditService/ListAuditEvents", { req: { parent: "orgs/acme", pageSize: 1 } }],
  ["switchboard.v1.AuditService/VerifyAuditChain", { req: {} }],
  // deletes, dependents first
  ["switchboard.v1.GuardrailService/DeleteGuardrailPolicy", { req: { name: "orgs/acme/guardrail-policies/ext" }, resource: "orgs/acme/guardrail-policies/ext", fail: { req: { name: "orgs/acme/guardrail-policies/ext" }, resource: "orgs/acme/guardrail-policies/ext" } }],
  ["switchboard.v1.PromptService/DeletePromptTemplate", { req: { name: "orgs/acme/prompts/greet" }, resource: "orgs/acme/prompts/greet", fail: { req: { name: "orgs/acme/prompts/greet" }, resource: "orgs/acme/prompts/greet" } }],
  ["switchboard.v1.BudgetService/DeleteRateLimit", { req: { name: "orgs/acme/rate-limits/rpm" }, resource: "orgs/acme/rate-limits/rpm", fail: { req: { name: "orgs/acme/rate-limits/rpm" }, resource: "orgs/acme/rate-limits/rpm" } }],
  ["switchboard.v1.BudgetService/DeleteBudget", { req: { name: "orgs/acme/budgets/monthly" }, resource: "orgs/acme/budgets/monthly", fail: { req: { name: "orgs/acme/budgets/monthly" }, resource: "orgs/acme/budgets/monthly" } }],
  ["switchboard.v1.RouteService/DeleteRoute", { req: { name: "orgs/acme/routes/fast" }, resource: "orgs/acme/routes/fast", fail: { req: { name: "orgs/acme/routes/fast" }, resource: "orgs/acme/routes/fast" } }],
  ["switchboard.v1.CredentialService/DeleteCredential", { req: { name: "orgs/acme/credentials/openai" }, resource: "orgs/acme/credentials/openai", fail: { req: { name: "orgs/acme/credentials/openai" }, resource: "orgs/acme/credentials/openai" } }],
  ["switchboard.v1.TenantService/DeleteTeam", { req: { name: "orgs/acme/teams/web" }, resource: "orgs/acme/teams/web", fail: { req: { name: "orgs/acme/teams/web" }, resource: "orgs/acme/teams/web" } }],
  ["switchboard.v1.TenantService/DeleteOrg", { req: { name: "orgs/acme" }, resource: "orgs/acme", fail: { req: { name: "orgs/acme" }, resource: "orgs/acme" } }],
];
const FIXTURES = new Map(PLAN);

// ---- Running the plan. ----

/** What one call did: its outcome and the events appended since the previous call. */
interface Observed {
  code: string;
  message?: string;
  events: AuditEvent[];
}
const observed = new Map<string, { success?: Observed; fail?: Observed; denied?: Observed }>();
const canaries = [CANARY_CREDENTIAL, CANARY_CREDENTIAL_2, CANARY_WEBHOOK, CANARY_WEBHOOK_2, "canary-external-token-0005"];
const DENIED_KEY = "orgs/system/teams/admins/keys/nobody";

let gw: TestGateway;
let platform: KeyedClients;
let deniedSecret: string;
let lastSequence = 0n;

/** Calls any RPC by its descriptor; a stream is read to its end. Returns the last message or the code name. */
async function invoke(method: DescMethod, req: Record<string, unknown>, secret: string): Promise<{ code: string; message?: string; res?: unknown }> {
  const client = createClient(method.parent, keyedTransport(gw.url, secret)) as unknown as Record<string, (r: unknown) => unknown>;
  try {
    const call = client[method.localName]!(req);
    let res: unknown;
    if (method.methodKind === "server_streaming") for await (const m of call as AsyncIterable<unknown>) res = m;
    else res = await call;
    return { code: "ok", res };
  } catch (err) {
    const e = ConnectError.from(err);
    return { code: Code[e.code], message: e.rawMessage };
  }
}
/** The events appended since the last look, oldest first. */
async function newEvents(): Promise<AuditEvent[]> {
  await gw.server.audit.drain();
  const page = await platform.audit.listAuditEvents({ pageSize: 1000 });
  const fresh = page.events.filter((e) => e.sequence > lastSequence).reverse();
  for (const e of fresh) if (e.sequence > lastSequence) lastSequence = e.sequence;
  return fresh;
}
async function observe(method: DescMethod, req: Record<string, unknown>, secret: string): Promise<Observed> {
  await newEvents();
  const { code, message, res } = await invoke(method, req, secret);
  // A returned key secret must never be recorded either.
  const secretOf = (res as { secret?: string } | undefined)?.secret;
  if (typeof secretOf === "string" && secretOf !== "") canaries.push(secretOf);
  return { code, ...(message === undefined ? {} : { message }), events: await newEvents() };
}

beforeAll(async () => {
  gw = await startTestGateway();
  platform = clientsFor(gw.url, gw.adminKey);
  deniedSecret = (await platform.keys.createKey({ parent: "orgs/system/teams/admins", keyId: "nobody", key: { scopes: [Scope.INVOKE] } })).secret;
  canaries.push(gw.adminKey, deniedSecret);
  const byName = new Map(methods.map((m) => [fullName(m), m]));
  for (const [name, fixture] of PLAN) {
    const method = byName.get(name);
    if (method === undefined) continue; // A fixture for an RPC that no longer exists: reported below.
    const seen: { success?: Observed; fail?: Observed; denied?: Observed } = {};
    seen.success = await observe(method, fixture.req, gw.adminKey);
    if (fixture.fail) seen.fail = await observe(method, fixture.fail.req, gw.adminKey);
    seen.denied = await observe(method, fixture.req, deniedSecret);
    observed.set(name, seen);
  }
}, 120_000);
afterAll(async () => {
  await gw?.close();
});

/** Every `(sensitive)` JSON name found in `value` whose value is not `[sensitive]`, as paths. */
function unmasked(value: JsonValue | undefined, at = ""): string[] {
  if (value === null || value === undefined || typeof value !== "object") return [];
  if (Array.isArray(value)) return value.flatMap((v, i) => unmasked(v, `${at}[${i}]`));
  return Object.entries(value).flatMap(([k, v]) => [...(SENSITIVE_JSON.has(k) && v !== MASKED ? [`${at}.${k}`] : []), ...unmasked(v, `${at}.${k}`)]);
}
const summary = (events: AuditEvent[]) => events.map((e) => ({ action: e.action, outcome: AuditOutcome[e.outcome], actor: e.actor, resource: e.resource }));

describe("audit log completeness over every admin RPC (P21)", () => {
  it("finds the admin services and the sensitive fields in the schema", () => {
    expect(services.map((s) => s.typeName).sort()).toEqual(
      expect.arrayContaining(["switchboard.v1.AuditService", "switchboard.v1.BudgetService", "switchboard.v1.CacheService", "switchboard.v1.CredentialService", "switchboard.v1.GuardrailService", "switchboard.v1.KeyService", "switchboard.v1.PromptService", "switchboard.v1.RouteService", "switchboard.v1.TenantService", "switchboard.v1.UsageService"]),
    );
    expect([...SENSITIVE_JSON].sort()).toEqual(expect.arrayContaining(["alertWebhookUrl", "secret", "url", "value"]));
  });

  it("has a fixture for no RPC that does not exist", () => {
    const known = new Set(methods.map(fullName));
    expect(PLAN.map(([n]) => n).filter((n) => !known.has(n))).toEqual([]);
  });

  it.each(methods.map((m) => [fullName(m), m] as const))("%s", (name, method) => {
    const kind = kindByName(method);
    expect(kind, `${name}: no classification by name; add its prefix to MUTATING or READ_ONLY`).toBeDefined();
    const scope = getOption(method, required_scope);
    expect(isAuditedScope(scope) ? "mutating" : "read-only", `${name}: its required scope (${Scope[scope]}) disagrees with its name`).toBe(kind);
    const fixture = FIXTURES.get(name);
    expect(fixture, `${name}: no fixture in PLAN — every admin RPC needs one`).toBeDefined();
    const seen = observed.get(name)!;

    expect(seen.success!.code, `${name}: the fixture's call failed: ${seen.success!.message}`).toBe("ok");
    for (const obs of [seen.success, seen.fail, seen.denied]) for (const e of obs?.events ?? []) {
      expect(unmasked(e.before), `${name}: unmasked sensitive field in before`).toEqual([]);
      expect(unmasked(e.after), `${name}: unmasked sensitive field in after`).toEqual([]);
    }

    // Denied: one DENIED event for any method, by the refused key.
    expect(seen.denied!.code).toBe("PermissionDenied");
    expect(summary(seen.denied!.events), `${name}: a refusal is recorded once`).toEqual([{ action: name, outcome: "DENIED", actor: DENIED_KEY, resource: expect.any(String) }]);

    if (kind === "read-only") {
      expect(summary(seen.success!.events), `${name}: a read wrote to the audit log`).toEqual([]);
      return;
    }
    // Mutating, successful.
    expect(summary(seen.success!.events), `${name}: a success is recorded exactly once`).toEqual([{ action: name, outcome: "SUCCESS", actor: BOOTSTRAP_KEY_NAME, resource: fixture!.resource }]);
    const [event] = seen.success!.events;
    expect(event!.before !== undefined, `${name}: before ${expectsBefore(method) ? "missing" : "unexpected"}`).toBe(expectsBefore(method));
    expect(event!.after !== undefined, `${name}: after ${expectsAfter(method) ? "missing" : "unexpected"}`).toBe(expectsAfter(method));
    // The refusal of an audited method keeps the (masked) request, under the resource it was about
    // (as far as the request names it: a version's number, say, is not known before it is made).
    expect(seen.denied!.events[0]!.after?.["request"], `${name}: a denied mutation keeps its request`).toBeDefined();
    expect(fixture!.resource!.startsWith(seen.denied!.events[0]!.resource), `${name}: denied under resource "${seen.denied!.events[0]!.resource}", not ${fixture!.resource}`).toBe(true);
    // Mutating, failed.
    if (fixture!.fail) {
      expect(seen.fail!.code, `${name}: the failing fixture succeeded`).not.toBe("ok");
      expect(summary(seen.fail!.events), `${name}: a failure is recorded exactly once`).toEqual([{ action: name, outcome: "FAILURE", actor: BOOTSTRAP_KEY_NAME, resource: fixture!.fail.resource }]);
      expect(seen.fail!.events[0]!.after?.["request"], `${name}: a failed mutation keeps its request`).toBeDefined();
    }
  });

  it("stores no secret anywhere in audit_events", async () => {
    await gw.server.audit.drain();
    const { rows } = await sql<{ row: string }>`select row_to_json(t)::text as row from audit_events t`.execute(gw.database.db);
    expect(rows.length).toBeGreaterThan(PLAN.length);
    const text = rows.map((r) => r.row).join("\n");
    expect(canaries.filter((c) => text.includes(c))).toEqual([]);
  });

  it("keeps one intact chain", async () => {
    expect((await platform.audit.verifyAuditChain({})).intact).toBe(true);
  });
});
