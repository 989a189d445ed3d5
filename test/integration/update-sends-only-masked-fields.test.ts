/**
 * AIP-134 on every Update RPC: a caller may send only the resource's `name` and the fields its
 * `update_mask` names; the fields it leaves out are ignored, so an Update changing a budget's
 * limit need not repeat its target and period, nor a route's description its targets. What the
 * mask names is still checked (the schema's rules and the service's own): an invalid masked value
 * is InvalidArgument naming `<resource>.<field>`, and the resource is unchanged. A value the
 * mask does not name is not validated, and not stored, whatever it holds.
 *
 * The mask itself: `update_mask` is required (the proto's rule; absent is InvalidArgument naming
 * it), and `*` replaces every updatable field from the resource sent.
 */
import { toJson, type DescMessage, type JsonObject, type JsonValue, type MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { ViolationsSchema } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BudgetSchema, RateLimitSchema } from "../../gen/ts/switchboard/v1/budget_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { Verb } from "../../gen/ts/switchboard/v1/common_pb.js";
import { CredentialSchema } from "../../gen/ts/switchboard/v1/credential_service_pb.js";
import { BudgetPeriod, GuardrailStage } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { GuardrailAction, GuardrailPolicySchema } from "../../gen/ts/switchboard/v1/guardrail_service_pb.js";
import { KeySchema } from "../../gen/ts/switchboard/v1/key_service_pb.js";
import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import { PromptTemplateSchema } from "../../gen/ts/switchboard/v1/prompt_service_pb.js";
import { RouteSchema } from "../../gen/ts/switchboard/v1/route_service_pb.js";
import { OrgSchema, TeamSchema } from "../../gen/ts/switchboard/v1/tenant_service_pb.js";
import { clientsFor, type KeyedClients } from "../support/clients.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";

let gw: TestGateway;
let admin: KeyedClients;

beforeAll(async () => {
  gw = await startTestGateway();
  admin = clientsFor(gw.url, gw.adminKey);
  await admin.tenants.createTeam({ parent: "orgs/system", teamId: "web", team: {} });
}, 30_000);
afterAll(async () => {
  await gw?.close();
});

/** A partial resource as a caller sends it (the RPC's request field), `name` added by the test. */
type Fields = Record<string, unknown>;

/** One Update RPC: how to make a resource, read it, and update it with a partial one. */
interface Row<D extends DescMessage = DescMessage> {
  /** The request field holding the resource (`budget`, `rate_limit`, …): violations are named under it. */
  field: string;
  schema: D;
  /** Creates a resource whose last name segment is `id`; its resource name. */
  create(id: string): Promise<string>;
  read(name: string): Promise<MessageShape<D>>;
  update(resource: Fields, paths: string[] | undefined): Promise<unknown>;
  /** A valid change of one field, sent alone: the mask path, what is sent, the field's JSON name and value after. */
  change: { path: string; send: Fields; json: string; after: JsonValue };
  /** An invalid value of one field, sent alone with it masked: refused naming `<field>.<path>`. */
  invalid: { path: string; send: Fields };
  /** Invalid values of fields the mask (`change.path`) does not name: ignored. */
  unmasked: Fields;
}

const rules = [{ id: "deny", stage: GuardrailStage.INPUT, action: GuardrailAction.BLOCK, check: { case: "denyList" as const, value: { phrases: ["secret"] } } }];
const mask = (paths: string[] | undefined) => (paths === undefined ? {} : { updateMask: { paths } });
const tooLong = "x".repeat(2001);

const row = <D extends DescMessage>(r: Row<D>): Row => r as unknown as Row;

const ROWS: Record<string, Row> = {
  UpdateOrg: row({
    field: "org",
    schema: OrgSchema,
    create: async (id) => (await admin.tenants.createOrg({ orgId: id, org: { displayName: "Acme", labels: { cost: "42" } } })).org!.name,
    read: async (name) => (await admin.tenants.getOrg({ name })).org!,
    update: (org, paths) => admin.tenants.updateOrg({ org, ...mask(paths) }),
    change: { path: "display_name", send: { displayName: "Acme Two" }, json: "displayName", after: "Acme Two" },
    invalid: { path: "display_name", send: { displayName: "a\u0000b" } },
    unmasked: { labels: { cost: "\u0000" } },
  }),
  UpdateTeam: row({
    field: "team",
    schema: TeamSchema,
    create: async (id) => (await admin.tenants.createTeam({ parent: "orgs/system", teamId: id, team: { displayName: "Web", labels: { cost: "42" } } })).team!.name,
    read: async (name) => (await admin.tenants.getTeam({ name })).team!,
    update: (team, paths) => admin.tenants.updateTeam({ team, ...mask(paths) }),
    change: { path: "labels", send: { labels: { cost: "43" } }, json: "labels", after: { cost: "43" } },
    invalid: { path: "labels", send: { labels: { cost: "\u0000" } } },
    unmasked: { displayName: "a\u0000b" },
  }),
  UpdateKey: row({
    field: "key",
    schema: KeySchema,
    create: async (id) =>
      (await admin.keys.createKey({ parent: "orgs/system/teams/web", keyId: id, key: { displayName: "k", scopes: [Scope.INVOKE], tags: { app: "a" } } })).key!.name,
    read: async (name) => (await admin.keys.getKey({ name })).key!,
    update: (key, paths) => admin.keys.updateKey({ key, ...mask(paths) }),
    change: { path: "display_name", send: { displayName: "renamed" }, json: "displayName", after: "renamed" },
    invalid: { path: "scopes", send: { scopes: [] } },
    // No scope at all, and an expiry outside a Timestamp's range: both refused when masked.
    unmasked: { scopes: [], expireTime: { seconds: 999_999_999_999n } },
  }),
  UpdateCredential: row({
    field: "credential",
    schema: CredentialSchema,
    create: async (id) =>
      (await admin.credentials.createCredential({ parent: "orgs/system", credentialId: id, credential: { provider: "openai", displayName: "c", settings: { organization: "o" } }, value: "sk-test-0123456789" }))
        .credential!.name,
    read: async (name) => (await admin.credentials.getCredential({ name })).credential!,
    // `*` names `value` too: a replacement of every field replaces the secret, which is then required.
    update: (credential, paths) => admin.credentials.updateCredential({ credential, ...mask(paths), ...(paths?.includes("*") ? { value: "sk-test-9876543210" } : {}) }),
    change: { path: "display_name", send: { displayName: "renamed" }, json: "displayName", after: "renamed" },
    invalid: { path: "display_name", send: { displayName: "a\u0000b" } },
    unmasked: { settings: { organization: "\u0000" } },
  }),
  UpdateRoute: row({
    field: "route",
    schema: RouteSchema,
    create: async (id) =>
      (await admin.routes.createRoute({ parent: "orgs/system", routeId: id, route: { description: "d", targets: [{ provider: "sandbox", model: "sandbox-fast" }], defaultMaxOutputTokens: 100 } })).route!
        .name,
    read: async (name) => (await admin.routes.getRoute({ name })).route!,
    update: (route, paths) => admin.routes.updateRoute({ route, ...mask(paths) }),
    change: { path: "description", send: { description: "new" }, json: "description", after: "new" },
    invalid: { path: "timeout", send: { timeout: { seconds: -1n } } },
    unmasked: { targets: [{ provider: "", model: "" }], timeout: { seconds: -1n } },
  }),
  UpdateBudget: row({
    field: "budget",
    schema: BudgetSchema,
    create: async (id) =>
      (
        await admin.budgets.createBudget({
          parent: "orgs/system",
          budgetId: id,
          budget: { target: "orgs/system", limitMicrosUsd: 1000n, period: BudgetPeriod.MONTHLY, timeZone: "Europe/Paris", alertThresholdsPercent: [50, 80] },
        })
      ).budget!.name,
    read: async (name) => (await admin.budgets.getBudget({ name })).budget!,
    update: (budget, paths) => admin.budgets.updateBudget({ budget, ...mask(paths) }),
    change: { path: "limit_micros_usd", send: { limitMicrosUsd: 2000n }, json: "limitMicrosUsd", after: "2000" },
    invalid: { path: "limit_micros_usd", send: { limitMicrosUsd: 0n } },
    unmasked: { target: "", timeZone: "Mars/Olympus_Mons", alertThresholdsPercent: [0, 101], alertWebhookUrl: "ftp://nope" },
  }),
  UpdateRateLimit: row({
    field: "rate_limit",
    schema: RateLimitSchema,
    create: async (id) => (await admin.budgets.createRateLimit({ parent: "orgs/system", rateLimitId: id, rateLimit: { target: "orgs/system", requestsPerMinute: 10n, tokensPerMinute: 1000n } })).rateLimit!.name,
    read: async (name) => (await admin.budgets.getRateLimit({ name })).rateLimit!,
    update: (rateLimit, paths) => admin.budgets.updateRateLimit({ rateLimit, ...mask(paths) }),
    change: { path: "requests_per_minute", send: { requestsPerMinute: 20n }, json: "requestsPerMinute", after: "20" },
    invalid: { path: "requests_per_minute", send: { requestsPerMinute: -1n } },
    unmasked: { target: "", tokensPerMinute: -1n },
  }),
  UpdateGuardrailPolicy: row({
    field: "policy",
    schema: GuardrailPolicySchema,
    create: async (id) => (await admin.guardrails.createGuardrailPolicy({ parent: "orgs/system", policyId: id, policy: { description: "d", rules, enabled: true } })).policy!.name,
    read: async (name) => (await admin.guardrails.getGuardrailPolicy({ name })).policy!,
    update: (policy, paths) => admin.guardrails.updateGuardrailPolicy({ policy, ...mask(paths) }),
    change: { path: "description", send: { description: "new" }, json: "description", after: "new" },
    invalid: { path: "description", send: { description: tooLong } },
    unmasked: { rules: [{ id: "Not An Id" }], attachments: [""] },
  }),
  UpdatePromptTemplate: row({
    field: "template",
    schema: PromptTemplateSchema,
    create: async (id) =>
      (
        await admin.prompts.createPromptTemplate({
          parent: "orgs/system",
          promptId: id,
          template: { verb: Verb.CHAT, description: "d" },
          firstVersion: { messages: [{ role: Role.SYSTEM, template: "be brief" }] },
        })
      ).template!.name,
    read: async (name) => (await admin.prompts.getPromptTemplate({ name })).template!,
    update: (template, paths) => admin.prompts.updatePromptTemplate({ template, ...mask(paths) }),
    change: { path: "description", send: { description: "new" }, json: "description", after: "new" },
    invalid: { path: "description", send: { description: tooLong } },
    unmasked: { verb: Verb.UNSPECIFIED, attachments: [""] },
  }),
};

let ids = 0;
const nextId = () => `u${++ids}`;

/** The resource's JSON without `update_time` (and `drop`): what an update of `drop` must leave as it was. */
function rest(row: Row, message: MessageShape<DescMessage>, drop?: string): JsonObject {
  const json = toJson(row.schema, message) as JsonObject;
  delete json.updateTime;
  if (drop !== undefined) delete json[drop];
  return json;
}

/** "ok", or the code and the dotted field names of the `buf.validate.Violations` detail. */
async function answer(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return "ok";
  } catch (e) {
    const err = ConnectError.from(e);
    const fields = err.findDetails(ViolationsSchema).flatMap((d) => d.violations.map((v) => (v.field?.elements ?? []).map((el) => el.fieldName).join(".")));
    return `${Code[err.code]} ${fields.join(" ")}`.trim() + (err.code === Code.InvalidArgument ? "" : `: ${err.rawMessage}`);
  }
}

describe.each(Object.entries(ROWS))("%s", (_rpc, row) => {
  it("changes one field sent alone with its mask, and leaves every other field as it was", async () => {
    const name = await row.create(nextId());
    const before = await row.read(name);
    expect(await answer(row.update({ name, ...row.change.send }, [row.change.path]))).toBe("ok");
    const after = await row.read(name);
    expect((toJson(row.schema, after) as JsonObject)[row.change.json]).toEqual(row.change.after);
    expect(rest(row, after, row.change.json)).toEqual(rest(row, before, row.change.json));
  });

  it("refuses an invalid value of the masked field, naming it, and changes nothing", async () => {
    const name = await row.create(nextId());
    const before = await row.read(name);
    expect(await answer(row.update({ name, ...row.invalid.send }, [row.invalid.path]))).toBe(`InvalidArgument ${row.field}.${row.invalid.path}`);
    expect(rest(row, await row.read(name))).toEqual(rest(row, before));
  });

  it("ignores invalid values in fields the mask does not name", async () => {
    const name = await row.create(nextId());
    const before = await row.read(name);
    expect(await answer(row.update({ name, ...row.unmasked, ...row.change.send }, [row.change.path]))).toBe("ok");
    const after = await row.read(name);
    expect((toJson(row.schema, after) as JsonObject)[row.change.json]).toEqual(row.change.after);
    expect(rest(row, after, row.change.json)).toEqual(rest(row, before, row.change.json));
  });

  it("requires update_mask, and takes `*` as every updatable field of the resource sent", async () => {
    const name = await row.create(nextId());
    expect(await answer(row.update({ name, ...row.change.send }, undefined))).toBe("InvalidArgument update_mask");
    const before = await row.read(name);
    const whole = { ...(before as unknown as Fields), ...row.change.send };
    expect(await answer(row.update(whole, ["*"]))).toBe("ok");
    const after = await row.read(name);
    expect((toJson(row.schema, after) as JsonObject)[row.change.json]).toEqual(row.change.after);
  });
});
