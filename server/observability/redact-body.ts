import { scrubText } from "../audit/mask.js";
import { detectPii } from "../guardrails/pii/detect-pii.js";

/**
 * `text` with every personal or secret value the guardrails' detector finds (emails, phones,
 * cards, IBANs, SSNs, IP addresses, keys) replaced by its kind in brackets (`[EMAIL]`), then every
 * secret-looking value the audit log masks replaced too. The request log's `redacted` mode.
 */
export function redactText(text: string): string {
  const spans = detectPii(text);
  let out = "";
  let at = 0;
  for (const s of spans) {
    out += text.slice(at, s.start) + `[${s.entity}]`;
    at = s.end;
  }
  return scrubText(out + text.slice(at));
}

/** Applies `fn` to every string of a JSON-like value (keys kept). */
export function mapStrings(value: unknown, fn: (s: string) => string): unknown {
  if (typeof value === "string") return fn(value);
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, fn));
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = mapStrings(v, fn);
    return out;
  }
  return value;
}
