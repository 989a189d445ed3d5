import { scrubText } from "../audit/mask.js";
import { detectPii } from "../guardrails/pii/detect-pii.js";
import { detectorText } from "../guardrails/pii/json-text.js";
import type { PiiSpan } from "../guardrails/pii/pii-types.js";

/**
 * `text` with every personal or secret value the guardrails' detector finds (emails, phones,
 * cards, IBANs, SSNs, IP addresses, keys) replaced by its kind in brackets (`[EMAIL]`), then every
 * secret-looking value the audit log masks replaced too. The request log's `redacted` mode. With
 * `json`, `text` is JSON text (a tool call's arguments), whose escapes are read as the break they
 * stand for: a card after an escaped newline (`\n4111…`) follows a letter in the text, not a word.
 */
export function redactText(text: string, json = false): string {
  return replaced(text, detectPii(detectorText(text, json)));
}

/**
 * `text` with every secret the guardrails' detector finds (provider, AWS and GitHub keys, JWTs,
 * PEM private keys, Switchboard keys) replaced by `[SECRET]`, then every secret-looking value the
 * audit log masks replaced too; personal data is kept. The request log's `full` mode.
 */
export function maskSecrets(text: string, json = false): string {
  return replaced(text, detectPii(detectorText(text, json), ["SECRET"]));
}

function replaced(text: string, spans: readonly PiiSpan[]): string {
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
