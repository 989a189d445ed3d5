/**
 * Every Update RPC whose resource carries a malformed `name` is refused `invalid_argument` naming
 * the field the caller set (`route.name`, `policy.name`, …): the Update requests have no `name`
 * field of their own, so a message saying `name:` points at nothing.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Verb } from "../../gen/ts/switchboard/v1/common_pb.js";
import { BudgetPeriod, GuardrailStage } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { GuardrailAction } from "../../gen/ts/switchboard/v1/guardrail_service_pb.js";
import { clientsFor, type KeyedClients } from "../support/clients.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";

let gw: TestGateway;
let platform: KeyedClients;

beforeAll(async () => {
  gw = await startTestGateway();
  platform = clientsFor(gw.url, gw.adminKey);
});
afterAll(async () => {
  await gw?.close();
});

const refusal = (call: Promise<unknown>) =>
  call.then(
    () => "ok",
    (e: unknown) => {
      const err = ConnectError.from(e);
      return `${Code[err.code]} ${err.rawMessage.split(":")[0]}`;
    },
  );

describe("Update RPCs with a malformed resource name", () => {
  it("are InvalidArgument naming <resource>.name", async () => {
    const bad = "orgs/system/nope/x";
    const mask = (path: string) => ({ paths: [path] });
    const rules = [{ id: "deny", stage: GuardrailStage.INPUT, action: GuardrailAction.BLOCK, check: { case: "denyList" as const, value: { phrases: ["secret"] } } }];
    const seen = {
      org: await refusal(platform.tenants.updateOrg({ org: { name: bad }, updateMask: mask("display_name") })),
      team: await refusal(platform.tenants.updateTeam({ team: { name: bad }, updateMask: mask("display_name") })),
      key: await refusal(platform.keys.updateKey({ key: { name: bad }, updateMask: mask("display_name") })),
      credential: await refusal(platform.credentials.updateCredential({ credential: { name: bad }, updateMask: mask("display_name") })),
      route: await refusal(platform.routes.updateRoute({ route: { name: bad, targets: [{ provider: "sandbox", model: "sandbox-fast" }] }, updateMask: mask("description") })),
      budget: await refusal(
        platform.budgets.updateBudget({ budget: { name: bad, target: "orgs/system", limitMicrosUsd: 1n, period: BudgetPeriod.TOTAL }, updateMask: mask("limit_micros_usd") }),
      ),
      rateLimit: await refusal(platform.budgets.updateRateLimit({ rateLimit: { name: bad, target: "orgs/system" }, updateMask: mask("requests_per_minute") })),
      policy: await refusal(platform.guardrails.updateGuardrailPolicy({ policy: { name: bad, rules }, updateMask: mask("description") })),
      template: await refusal(platform.prompts.updatePromptTemplate({ template: { name: bad, verb: Verb.CHAT }, updateMask: mask("description") })),
    };
    expect(seen).toEqual({
      org: "InvalidArgument org.name",
      team: "InvalidArgument team.name",
      key: "InvalidArgument key.name",
      credential: "InvalidArgument credential.name",
      route: "InvalidArgument route.name",
      budget: "InvalidArgument budget.name",
      rateLimit: "InvalidArgument rate_limit.name",
      policy: "InvalidArgument policy.name",
      template: "InvalidArgument template.name",
    });
  });
});
