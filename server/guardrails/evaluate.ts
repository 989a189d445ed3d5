import { scoreInjection } from "./injection.js";
import { detectPii } from "./pii/detect-pii.js";
import { redactSpans, type Placeholders } from "./placeholders.js";
import type { CompiledPolicy, CompiledRule, GuardrailActionName, GuardrailStageName } from "./policy.js";

/** One match of one rule in one text. Offsets are into the text as given (before redaction). */
export interface Finding {
  /** Resource name of the policy. */
  policy: string;
  rule: string;
  /** What was found: a PII kind, `DENY_LIST`, a regex rule's category, `PROMPT_INJECTION`. */
  category: string;
  start: number;
  end: number;
  action: GuardrailActionName;
  /** A redaction the response gets back (`PiiRule.restore_in_response`). */
  restorable: boolean;
}

/** What the policies do to one text. */
export interface TextVerdict {
  /** The text with every `redact` finding replaced by its placeholder. */
  text: string;
  findings: Finding[];
  /** The first (leftmost) `block` finding, if any: the text must not pass. */
  blocked?: Finding;
}

/**
 * Every finding of the in-process rules of `policies` that apply at `stage` (external rules run
 * separately, asynchronously: `external-rule.ts`). Every rule sees the same original text.
 * Injection rules report one finding (the strongest signal's span) when the score reaches their
 * threshold; an intent cannot be masked, so their `redact` action acts as `log`.
 */
export function findViolations(text: string, policies: readonly CompiledPolicy[], stage: GuardrailStageName): Finding[] {
  const findings: Finding[] = [];
  for (const policy of policies) {
    for (const rule of policy.rules) {
      if (!rule.stages.has(stage)) continue;
      for (const span of spansOf(rule, text)) {
        const action = rule.check.kind === "injection" && rule.action === "redact" ? "log" : rule.action;
        const restorable = rule.check.kind === "pii" && rule.check.restore && action === "redact";
        findings.push({ policy: policy.name, rule: rule.id, category: span.category, start: span.start, end: span.end, action, restorable });
      }
    }
  }
  return findings.sort((a, b) => a.start - b.start);
}

function spansOf(rule: CompiledRule, text: string): Array<{ start: number; end: number; category: string }> {
  const check = rule.check;
  switch (check.kind) {
    case "pii":
      return detectPii(text, check.entities).map((s) => ({ start: s.start, end: s.end, category: s.entity }));
    case "deny_list":
      return check.list.find(text).map((s) => ({ ...s, category: "DENY_LIST" }));
    case "regex":
      return check.regex.findAll(text).map((s) => ({ ...s, category: check.category }));
    case "injection": {
      const verdict = scoreInjection(text);
      if (verdict.score < check.threshold || verdict.signals.length === 0) return [];
      const strongest = [...verdict.signals].sort((a, b) => b.weight - a.weight)[0]!;
      return [{ start: strongest.start, end: strongest.end, category: "PROMPT_INJECTION" }];
    }
    case "external":
      return [];
  }
}

/**
 * Applies `policies` to one text at `stage`: the findings, the text with redactions applied
 * (overlapping redactions keep the longest, then the leftmost), and the blocking finding if any.
 * Placeholders come from the call's shared registry, so one value has one placeholder across
 * every field of the call.
 */
export function evaluateText(text: string, policies: readonly CompiledPolicy[], stage: GuardrailStageName, placeholders: Placeholders): TextVerdict {
  return applyFindings(text, findViolations(text, policies, stage), placeholders);
}

/**
 * The verdict of `findings` (from {@link findViolations} or another analyzer) on `text`: the
 * blocking finding if any, and the text with the redactions applied.
 */
export function applyFindings(text: string, unordered: readonly Finding[], placeholders: Placeholders): TextVerdict {
  const findings = [...unordered].sort((a, b) => a.start - b.start);
  const blocked = findings.find((f) => f.action === "block");
  const redactions = nonOverlapping(findings.filter((f) => f.action === "redact"));
  const redacted = redactSpans(text, redactions, placeholders);
  return { text: redacted, findings, ...(blocked === undefined ? {} : { blocked }) };
}

/** The longest of overlapping findings (then the leftmost), in text order. */
export function nonOverlapping<T extends { start: number; end: number }>(spans: readonly T[]): T[] {
  const byLength = [...spans].sort((a, b) => b.end - b.start - (a.end - a.start) || a.start - b.start);
  const kept: T[] = [];
  // Covered offsets: checking a span costs its length, so the whole pass is linear in the text.
  const taken = new Uint8Array(spans.reduce((m, s) => Math.max(m, s.end), 0));
  for (const s of byLength) {
    let free = true;
    for (let i = s.start; i < s.end && free; i++) free = taken[i] === 0;
    if (!free) continue;
    taken.fill(1, s.start, s.end);
    kept.push(s);
  }
  return kept.sort((a, b) => a.start - b.start);
}
