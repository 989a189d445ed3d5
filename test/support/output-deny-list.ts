import { create } from "@bufbuild/protobuf";
import { GuardrailStage } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { GuardrailAction, GuardrailRuleSchema } from "../../gen/ts/switchboard/v1/guardrail_service_pb.js";
import type { MoneyClients } from "./money.js";

/** Attaches to `orgs/<org>` the policy `id` with one output rule `id` that blocks an answer holding any of `phrases`. */
export async function attachOutputDenyList(admin: MoneyClients, org: string, id: string, phrases: string[]): Promise<void> {
  await admin.guardrails.createGuardrailPolicy({
    parent: `orgs/${org}`,
    policyId: id,
    policy: {
      enabled: true,
      attachments: [`orgs/${org}`],
      rules: [create(GuardrailRuleSchema, { id, stage: GuardrailStage.OUTPUT, action: GuardrailAction.BLOCK, check: { case: "denyList", value: { phrases } } })],
    },
  });
}
