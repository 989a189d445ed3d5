import type { CallMeta } from "../pipeline/model-call.js";
import type { ExternalChecker, ExternalContent } from "./external-rule.js";
import type { CompiledPolicy, GuardrailStageName } from "./policy.js";
import type { ViolationFacts } from "./violation.js";

/** What the external rules of a call decided. */
export interface ExternalOutcome {
  /** The first blocking rule, in policy and rule order. */
  violation?: ViolationFacts;
  /** Matches of `log` rules (and `redact` ones: a service reports no spans to mask). */
  logged: ViolationFacts[];
}

/**
 * Runs every external rule of `policies` at `stage` on `contents`, all at once (each bounded by
 * its own timeout). A `block` rule that blocks — or whose service failed while the rule fails
 * closed — is the violation; a `log` or `redact` rule's block (or failure) is only logged. Texts are sent after the in-process rules have
 * redacted them, so a team's service never receives what Switchboard already masked.
 */
export async function runExternalRules(
  checker: Pick<ExternalChecker, "check">,
  policies: readonly CompiledPolicy[],
  stage: GuardrailStageName,
  contents: readonly ExternalContent[],
  meta: Pick<CallMeta, "caller" | "route" | "requestId" | "signal">,
): Promise<ExternalOutcome> {
  const jobs = policies.flatMap((policy) =>
    policy.rules.flatMap((rule) => {
      const check = rule.check;
      if (check.kind !== "external" || !rule.stages.has(stage) || contents.length === 0) return [];
      const verdict = checker.check({
        url: check.url,
        timeoutMs: check.timeoutMs,
        failOpen: check.failOpen,
        policy: policy.name,
        rule: rule.id,
        stage,
        contents,
        orgId: meta.caller?.orgId ?? "",
        route: meta.route,
        requestId: meta.requestId,
        signal: meta.signal,
      });
      return [{ policy: policy.name, rule: rule.id, action: rule.action, verdict }];
    }),
  );
  const outcome: ExternalOutcome = { logged: [] };
  for (const job of jobs) {
    const v = await job.verdict;
    if (v.decision === "allow") continue;
    const facts: ViolationFacts =
      v.decision === "block"
        ? { policy: job.policy, rule: job.rule, stage, field: v.field, category: v.category, ...(v.message ? { message: v.message } : {}) }
        : { policy: job.policy, rule: job.rule, stage, field: v.field, category: "EXTERNAL_UNAVAILABLE", message: "the external guardrail did not answer and the rule fails closed" };
    if (job.action === "block") outcome.violation ??= facts;
    else outcome.logged.push(facts);
  }
  return outcome;
}
