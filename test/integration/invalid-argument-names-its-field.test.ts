/**
 * Every `invalid_argument` refusing one request field carries the `buf.validate.Violations` detail
 * naming that field as the caller wrote it — whichever check refused it (the schema's rules, a
 * service's own checks, a verb's) — so a caller reads the field from the detail, not the message,
 * and the OpenAI surface names it as `param`. A sample of the gateway's own checks, across services.
 */
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { ViolationsSchema, type FieldPath } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Verb } from "../../gen/ts/switchboard/v1/common_pb.js";
import { BudgetPeriod, GuardrailStage } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { GuardrailAction } from "../../gen/ts/switchboard/v1/guardrail_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import { UsageDimension } from "../../gen/ts/switchboard/v1/usage_service_pb.js";
import { clientsFor, type KeyedClients } from "../support/clients.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";

let gw: TestGateway;
let c: KeyedClients;

beforeAll(async () => {
  gw = await startTestGateway();
  c = clientsFor(gw.url, gw.adminKey);
});
afterAll(async () => {
  await gw?.close();
});

/** A field path as the caller writes it: `a.b[1].c`, `tags["k"]`. */
function written(path: FieldPath | undefined): string {
  return (path?.elements ?? [])
    .map((e) => {
      const sub = e.subscript.case === undefined ? "" : e.subscript.case === "stringKey" ? `[${JSON.stringify(e.subscript.value)}]` : `[${e.subscript.value}]`;
      return `${e.fieldName}${sub}`;
    })
    .join(".");
}

/** The code and the fields named by the Violations detail of the refusal of `call` ("ok" if it succeeded). */
async function refusal(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
    return "ok";
  } catch (e) {
    const err = ConnectError.from(e);
    const violations = err.findDetails(ViolationsSchema).flatMap((v) => v.violations);
    const unnamed = violations.some((v) => v.ruleId === "");
    return `${Code[err.code]} ${violations.map((v) => written(v.field)).join(", ") || `(no detail: ${err.rawMessage})`}${unnamed ? " (no rule_id)" : ""}`;
  }
}

const mask = (...paths: string[]) => ({ paths });
const range = { startTime: timestampFromMs(0), endTime: timestampFromMs(86_400_000) };
const targets = [{ provider: "sandbox", model: "sandbox-fast" }];
const denyRule = { id: "deny", stage: GuardrailStage.INPUT, action: GuardrailAction.BLOCK, check: { case: "denyList" as const, value: { phrases: ["x"] } } };

/** [the refused field, the call refusing it]. */
const cases: [string, () => Promise<unknown>][] = [
  ["page_token", () => c.routes.listRoutes({ pageToken: "not-a-token" })],
  ["update_mask", () => c.routes.updateRoute({ route: { name: "routes/default", targets } })],
  ["route.name", () => c.routes.updateRoute({ route: { name: "routes/", targets }, updateMask: mask("description") })],
  ["route.targets[0].provider", () => c.routes.createRoute({ routeId: "r1", route: { targets: [{ provider: "no-such-kind", model: "m" }] } })],
  ["policy.name", () => c.guardrails.updateGuardrailPolicy({ policy: { name: "bad", rules: [denyRule] }, updateMask: mask("description") })],
  [
    "policy.rules[0].regex.pattern",
    () =>
      c.guardrails.evaluateGuardrailPolicy({
        policy: { rules: [{ id: "re", stage: GuardrailStage.INPUT, action: GuardrailAction.BLOCK, check: { case: "regex", value: { pattern: "(a)\\1" } } }] },
        text: "aa",
        stage: GuardrailStage.INPUT,
      }),
  ],
  ["budget.time_zone", () => c.budgets.createBudget({ parent: "orgs/system", budgetId: "b1", budget: { target: "orgs/system", limitMicrosUsd: 1n, period: BudgetPeriod.TOTAL, timeZone: "Mars/Olympus" } })],
  ["budget.target", () => c.budgets.createBudget({ parent: "orgs/system", budgetId: "b2", budget: { target: "orgs/elsewhere", limitMicrosUsd: 1n, period: BudgetPeriod.TOTAL } })],
  ["key.expire_time", () => c.keys.createKey({ parent: "orgs/system/teams/admins", keyId: "k1", key: { scopes: [Scope.INVOKE], expireTime: timestampFromMs(1000) } })],
  ["credential.provider", () => c.credentials.createCredential({ credentialId: "c1", credential: { provider: "no-such-kind" }, value: "secret" })],
  ["template.name", () => c.prompts.updatePromptTemplate({ template: { name: "prompts/", verb: Verb.CHAT }, updateMask: mask("description") })],
  ["template.verb", () => c.prompts.createPromptTemplate({ promptId: "p1", template: { verb: Verb.EMBED }, firstVersion: { messages: [{ role: Role.USER, template: "hi" }] } })],
  [
    "first_version.messages[0].template",
    () => c.prompts.createPromptTemplate({ promptId: "p2", template: { verb: Verb.CHAT }, firstVersion: { messages: [{ role: Role.USER, template: "hi {{nobody}}" }] } }),
  ],
  ["group_by_tag", () => c.usage.queryUsage({ ...range, groupBy: [UsageDimension.TAG] })],
  ["start_sequence", () => c.audit.verifyAuditChain({ startSequence: 5n, endSequence: 2n })],
  ["options.prompt", () => c.capability.embed({ inputs: ["x"], options: { prompt: { name: "prompts/p" } } })],
  ["text", () => c.capability.summarize({ text: " " })],
];

describe("invalid_argument refusing a request field", () => {
  it("carries a Violations detail naming the field, with a rule id", async () => {
    const seen: Record<string, string> = {};
    for (const [field, call] of cases) seen[field] = await refusal(call);
    expect(seen).toEqual(Object.fromEntries(cases.map(([field]) => [field, `InvalidArgument ${field}`])));
  });
});
