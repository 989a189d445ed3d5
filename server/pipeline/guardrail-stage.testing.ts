import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { GuardrailPolicySchema } from "../../gen/ts/switchboard/v1/guardrail_service_pb.js";
import { createLogCapture } from "../../test/support/log-capture.js";
import { compilePolicy } from "../guardrails/policy.js";
import { createScriptedPipeline, type ScriptedStep } from "../verbs/testing/scripted-pipeline.js";
import { createGuardrailInputStage, type GuardrailStageDeps } from "./guardrail-stage.js";
import { createGuardrailOutputStage } from "./guardrail-stage-output.js";
import { testCallMeta } from "./call-meta.testing.js";
import { composeStages, type CallMeta } from "./model-call.js";

/** The fields of the test's one policy (named `orgs/acme/guardrail-policies/p`). */
export interface GuardrailPolicyInit {
  rules: MessageInitShape<typeof GuardrailPolicySchema>["rules"];
  analyzerFailOpen?: boolean;
}

/**
 * Both guardrail stages around a scripted model, for one org policy; the external checker allows
 * unless `extra` replaces it. Returns the scripted inner pipeline and the captured log too.
 */
export function guardrailPipeline(policy: GuardrailPolicyInit, steps: ScriptedStep[], extra: Partial<GuardrailStageDeps> = {}) {
  const compiled = compilePolicy(create(GuardrailPolicySchema, { name: "orgs/acme/guardrail-policies/p", ...policy }));
  const log = createLogCapture();
  const deps: GuardrailStageDeps = { policies: { forCall: async () => [compiled] }, external: { check: async () => ({ decision: "allow" }) }, logger: log.logger, ...extra };
  const inner = createScriptedPipeline(steps);
  return { inner, log, pipeline: composeStages([createGuardrailInputStage(deps), createGuardrailOutputStage(deps)], inner) };
}

/** The call metadata of a chat by org `org_a` whose user content is in `userContentMessages`. */
export function guardrailCallMeta(userContentMessages: number[]): CallMeta {
  return testCallMeta({ caller: { orgId: "org_a", teamId: "t", keyId: "k" }, userContentMessages });
}
