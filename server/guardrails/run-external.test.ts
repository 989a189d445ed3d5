import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { GuardrailStage } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { GuardrailAction, GuardrailPolicySchema } from "../../gen/ts/switchboard/v1/guardrail_service_pb.js";
import type { ExternalCheckRequest, ExternalVerdict } from "./external-rule.js";
import { compilePolicy } from "./policy.js";
import { runExternalRules } from "./run-external.js";

type Rules = NonNullable<MessageInitShape<typeof GuardrailPolicySchema>["rules"]>;
const policyOf = (name: string, rules: Rules) => compilePolicy(create(GuardrailPolicySchema, { name, rules }));
const external = (id: string, stage: GuardrailStage, action: GuardrailAction): Rules[number] => ({ id, stage, action, check: { case: "external", value: { url: `http://guard/${id}` } } });
const meta = { caller: { orgId: "org_a", teamId: "t", keyId: "k" }, route: "r", requestId: "req" } as Parameters<typeof runExternalRules>[4];
const contents = [{ field: "messages[0].content[0].text", text: "hello" }];

/** A checker answering by the rule's id: `block…` rules block, `down…` rules fail closed, the rest allow. */
function checker() {
  const asked: string[] = [];
  return {
    asked,
    check: async (req: ExternalCheckRequest): Promise<ExternalVerdict> => {
      asked.push(req.rule);
      if (req.rule.startsWith("block")) return { decision: "block", category: req.rule.toUpperCase(), field: req.contents[0]!.field, message: "no" };
      if (req.rule.startsWith("down")) return { decision: "unavailable", field: req.contents[0]!.field };
      return { decision: "allow" };
    },
  };
}

describe("runExternalRules", () => {
  it("runs only the rules of the stage; the first blocking block rule in policy and rule order is the violation", async () => {
    const c = checker();
    const policies = [
      policyOf("p1", [external("allow-1", GuardrailStage.INPUT, GuardrailAction.BLOCK), external("block-out", GuardrailStage.OUTPUT, GuardrailAction.BLOCK), external("block-a", GuardrailStage.INPUT, GuardrailAction.BLOCK)]),
      policyOf("p2", [external("block-b", GuardrailStage.BOTH, GuardrailAction.BLOCK), external("down-c", GuardrailStage.INPUT, GuardrailAction.BLOCK)]),
    ];
    const outcome = await runExternalRules(c, policies, "input", contents, meta);
    expect(c.asked.sort()).toEqual(["allow-1", "block-a", "block-b", "down-c"]);
    expect(outcome.violation).toMatchObject({ policy: "p1", rule: "block-a", category: "BLOCK-A", stage: "input" });
    expect(outcome.logged).toEqual([]);
  });

  it("only logs what log and redact rules' services block or fail on", async () => {
    const c = checker();
    const policies = [policyOf("p", [external("block-log", GuardrailStage.INPUT, GuardrailAction.LOG), external("down-redact", GuardrailStage.INPUT, GuardrailAction.REDACT)])];
    const outcome = await runExternalRules(c, policies, "input", contents, meta);
    expect(outcome.violation).toBeUndefined();
    expect(outcome.logged.map((f) => [f.rule, f.category])).toEqual([["block-log", "BLOCK-LOG"], ["down-redact", "EXTERNAL_UNAVAILABLE"]]);
  });

  it("a failed service of a fail-closed block rule is the violation", async () => {
    const outcome = await runExternalRules(checker(), [policyOf("p", [external("down", GuardrailStage.OUTPUT, GuardrailAction.BLOCK)])], "output", contents, meta);
    expect(outcome.violation).toMatchObject({ rule: "down", category: "EXTERNAL_UNAVAILABLE", field: contents[0]!.field });
  });
});
