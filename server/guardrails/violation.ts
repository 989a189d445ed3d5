import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { GuardrailStage, GuardrailViolationSchema } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import type { GuardrailStageName } from "./policy.js";

/** Where and why a guardrail refused: never the matched text. */
export interface ViolationFacts {
  policy: string;
  rule: string;
  stage: GuardrailStageName;
  /** Path of the field (`messages[1].content[0].text`, `output.text`). */
  field: string;
  category: string;
  /** A caller-safe explanation (an external service's own); default: built from the facts. */
  message?: string;
}

/**
 * The error of a guardrail block: `PermissionDenied` with a `GuardrailViolation` detail naming
 * the policy, rule, stage, field and category. The matched text never appears in it — not in
 * the message, not in the detail — so a blocked secret does not come back in the refusal (P18).
 */
export function guardrailViolation(facts: ViolationFacts): ConnectError {
  const message = facts.message || `${facts.category} in ${facts.field} is not allowed (guardrail ${facts.policy}, rule ${facts.rule})`;
  return new ConnectError(`blocked by guardrail: ${message}`, Code.PermissionDenied, undefined, [
    {
      desc: GuardrailViolationSchema,
      value: create(GuardrailViolationSchema, {
        policy: facts.policy,
        rule: facts.rule,
        stage: facts.stage === "input" ? GuardrailStage.INPUT : GuardrailStage.OUTPUT,
        field: facts.field,
        category: facts.category,
        message,
      }),
    },
  ]);
}
