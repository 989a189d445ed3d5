/**
 * An admin-set URL the gateway would never call is refused when it is set, not only when it
 * fires: a budget's `alert_webhook_url` or an external guardrail's `url` whose host, as written,
 * is the cloud metadata service (in any spelling) or — with `egress.private: deny` — a loopback or
 * private address is InvalidArgument naming the field (`buf.validate.Violations`, rule
 * `url.egress`), the URL's token never echoed. A host name is judged when it is called.
 */
import { ViolationsSchema, type Violation } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BudgetPeriod, GuardrailStage } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { GuardrailAction } from "../../gen/ts/switchboard/v1/guardrail_service_pb.js";
import { clientsFor, type KeyedClients } from "../support/clients.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";

let gw: TestGateway;
let admin: KeyedClients;

beforeAll(async () => {
  gw = await startTestGateway({ egress: { private: "deny", allow: ["10.1.0.0/16"] } });
  admin = clientsFor(gw.url, gw.adminKey);
  await admin.tenants.createOrg({ orgId: "acme", org: {} });
}, 30_000);
afterAll(async () => gw?.close());

/** `a.b[2].c` from a violation's field path. */
const pathOf = (v: Violation) => (v.field?.elements ?? []).map((e) => `${e.fieldName}${e.subscript.case === "index" ? `[${e.subscript.value}]` : ""}`).join(".");

/** The refusal of `call`: its code, each violation's field path and rule, and its message. */
async function refusalOf(call: Promise<unknown>) {
  const err = ConnectError.from(await call.then(() => new Error("expected a refusal"), (e: unknown) => e));
  const violations = err.findDetails(ViolationsSchema).flatMap((d) => d.violations);
  return { code: err.code, fields: violations.map((v) => `${pathOf(v)} ${v.ruleId}`), message: err.rawMessage };
}

const budget = (alertWebhookUrl: string) => ({ target: "orgs/acme", limitMicrosUsd: 1000n, period: BudgetPeriod.MONTHLY, alertWebhookUrl });

describe("admin-set URLs the egress policy refuses", () => {
  it("refuses a budget alert webhook at the metadata address or, with private=deny, a loopback one, naming the field", async () => {
    for (const url of ["http://169.254.169.254/latest/meta-data/iam/?token=TOKEN1", "http://2852039166/", "http://user:TOKEN2@127.0.0.1:9000/hook", "http://localhost/hook"]) {
      const refused = await refusalOf(admin.budgets.createBudget({ parent: "orgs/acme", budgetId: "b", budget: budget(url) }));
      expect(refused.code, url).toBe(Code.InvalidArgument);
      expect(refused.fields, url).toEqual(["budget.alert_webhook_url url.egress"]);
      expect(refused.message).toMatch(/SWITCHBOARD_EGRESS_ALLOW/);
      expect(refused.message).not.toMatch(/TOKEN|user/);
    }
    // A host name (judged when it is called) and an allow-listed private address are accepted.
    await admin.budgets.createBudget({ parent: "orgs/acme", budgetId: "named", budget: budget("https://hooks.example.com/budget") });
    await admin.budgets.createBudget({ parent: "orgs/acme", budgetId: "allowed", budget: budget("http://10.1.2.3/budget") });
    const update = await refusalOf(
      admin.budgets.updateBudget({ budget: { ...budget("http://[::ffff:a9fe:a9fe]/"), name: "orgs/acme/budgets/named" }, updateMask: { paths: ["alert_webhook_url"] } }),
    );
    expect(update.fields).toEqual(["budget.alert_webhook_url url.egress"]);
    expect((await admin.budgets.getBudget({ name: "orgs/acme/budgets/named" })).budget?.alertWebhookUrl).toBe("https://hooks.example.com/budget");
  });

  it("refuses an external guardrail at a metadata name or address, naming the rule's field, on create and update", async () => {
    const pii = { id: "pii", stage: GuardrailStage.INPUT, action: GuardrailAction.REDACT, check: { case: "pii" as const, value: {} } };
    const external = (url: string) => ({ id: "ext", stage: GuardrailStage.INPUT, action: GuardrailAction.BLOCK, check: { case: "external" as const, value: { url } } });
    const created = await refusalOf(admin.guardrails.createGuardrailPolicy({ parent: "orgs/acme", policyId: "g", policy: { rules: [pii, external("http://metadata.google.internal/")] } }));
    expect(created.code).toBe(Code.InvalidArgument);
    expect(created.fields).toEqual(["policy.rules[1].external.url url.egress"]);
    await admin.guardrails.createGuardrailPolicy({ parent: "orgs/acme", policyId: "g", policy: { rules: [pii, external("https://guard.example.com")] } });
    const updated = await refusalOf(
      admin.guardrails.updateGuardrailPolicy({ policy: { name: "orgs/acme/guardrail-policies/g", rules: [external("http://[fd00:ec2::254]:80")] }, updateMask: { paths: ["rules"] } }),
    );
    expect(updated.fields).toEqual(["policy.rules[0].external.url url.egress"]);
  });
});
