import { durationMs } from "@bufbuild/protobuf/wkt";
import { GuardrailStage } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { GuardrailAction, PiiEntity, type GuardrailPolicy } from "../../gen/ts/switchboard/v1/guardrail_service_pb.js";
import { compileDenyList, type DenyList } from "./deny-list.js";
import type { PiiEntityName } from "./pii/pii-types.js";
import { compileSafeRegex, RegexError, type SafeRegex } from "./regex/safe-regex.js";

/** Where a rule looks. */
export type GuardrailStageName = "input" | "output";
/** What a rule does on a match. */
export type GuardrailActionName = "redact" | "block" | "log";

/** A rule's check, compiled. */
export type RuleCheck =
  | { kind: "pii"; entities: PiiEntityName[]; restore: boolean }
  | { kind: "deny_list"; list: DenyList }
  | { kind: "regex"; regex: SafeRegex; category: string }
  | { kind: "injection"; threshold: number }
  | { kind: "external"; url: string; timeoutMs: number; failOpen: boolean };

/** One rule, ready to evaluate. */
export interface CompiledRule {
  id: string;
  stages: ReadonlySet<GuardrailStageName>;
  action: GuardrailActionName;
  check: RuleCheck;
}

/** A policy, ready to evaluate: its resource name and its rules in order. */
export interface CompiledPolicy {
  name: string;
  rules: readonly CompiledRule[];
  /** `analyzer_fail_open`: let texts through unchecked when the analyzer fails (default: refuse). */
  analyzerFailOpen?: boolean;
}

/**
 * A policy that cannot be compiled; `path` names the field (`rules[2].regex.pattern`), `problem`
 * says what is wrong with it and `ruleId` names the rule broken (a `buf.validate` rule id).
 */
export class PolicyError extends Error {
  override readonly name = "PolicyError";
  constructor(
    readonly path: string,
    readonly problem: string,
    readonly ruleId: string,
  ) {
    super(`${path}: ${problem}`);
  }
}

/** Default time an external guardrail service has to answer. */
export const DEFAULT_EXTERNAL_TIMEOUT_MS = 500;
/** Default injection score at which the rule matches. */
export const DEFAULT_INJECTION_THRESHOLD = 0.5;

const ENTITIES: Record<number, PiiEntityName> = {
  [PiiEntity.EMAIL]: "EMAIL",
  [PiiEntity.PHONE]: "PHONE",
  [PiiEntity.CREDIT_CARD]: "CREDIT_CARD",
  [PiiEntity.IBAN]: "IBAN",
  [PiiEntity.US_SSN]: "US_SSN",
  [PiiEntity.IP_ADDRESS]: "IP_ADDRESS",
  [PiiEntity.SECRET]: "SECRET",
};
const ACTIONS: Record<number, GuardrailActionName> = {
  [GuardrailAction.REDACT]: "redact",
  [GuardrailAction.BLOCK]: "block",
  [GuardrailAction.LOG]: "log",
};

/**
 * Compiles a `switchboard.v1.GuardrailPolicy` (already checked by protovalidate) for
 * evaluation: deny lists become automatons and regexes linear-time programs, so the work is done
 * once per policy change, not per request. Throws {@link PolicyError} naming the field for what
 * protovalidate cannot see: a pattern outside the regex subset, an injection rule on the output.
 */
export function compilePolicy(policy: GuardrailPolicy): CompiledPolicy {
  return { name: policy.name, rules: policy.rules.map((rule, i) => compileRule(rule, `rules[${i}]`)), analyzerFailOpen: policy.analyzerFailOpen };
}

function compileRule(rule: GuardrailPolicy["rules"][number], path: string): CompiledRule {
  const stages = new Set<GuardrailStageName>(
    rule.stage === GuardrailStage.INPUT ? ["input"] : rule.stage === GuardrailStage.OUTPUT ? ["output"] : ["input", "output"],
  );
  const action = ACTIONS[rule.action];
  if (action === undefined) throw new PolicyError(`${path}.action`, "must be REDACT, BLOCK or LOG", "guardrail_rule.action.defined");
  const id = rule.id || path.replace(/[[\]]/g, "").replace(/\./g, "-");
  const check = rule.check;
  switch (check.case) {
    case "pii":
      return {
        id,
        stages,
        action,
        check: { kind: "pii", entities: check.value.entities.map((e) => ENTITIES[e]).filter((e) => e !== undefined), restore: check.value.restoreInResponse },
      };
    case "denyList":
      return { id, stages, action, check: { kind: "deny_list", list: compileDenyList(check.value.phrases, check.value.caseSensitive) } };
    case "regex": {
      let regex: SafeRegex;
      try {
        regex = compileSafeRegex(check.value.pattern);
      } catch (err) {
        if (err instanceof RegexError) throw new PolicyError(`${path}.regex.pattern`, err.message, "guardrail_rule.regex.safe");
        throw err;
      }
      const category = (check.value.category || "REGEX").toUpperCase().replace(/[^A-Z0-9_]/g, "_");
      return { id, stages, action, check: { kind: "regex", regex, category } };
    }
    case "injection":
      if (rule.stage === GuardrailStage.OUTPUT) throw new PolicyError(`${path}.stage`, "injection rules inspect inputs only", "guardrail_rule.injection.input_only");
      return {
        id,
        stages: new Set(["input"]),
        action,
        check: { kind: "injection", threshold: check.value.threshold > 0 ? check.value.threshold : DEFAULT_INJECTION_THRESHOLD },
      };
    case "external":
      return {
        id,
        stages,
        action,
        check: {
          kind: "external",
          url: check.value.url,
          timeoutMs: check.value.timeout ? durationMs(check.value.timeout) || DEFAULT_EXTERNAL_TIMEOUT_MS : DEFAULT_EXTERNAL_TIMEOUT_MS,
          failOpen: check.value.failOpen,
        },
      };
    default:
      throw new PolicyError(`${path}.check`, "a rule needs one check", "guardrail_rule.check.required");
  }
}
