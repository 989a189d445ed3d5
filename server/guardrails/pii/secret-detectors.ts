import { parseSecret } from "../../auth/key-format.js";
import { matchAll, type PiiDetector, type PiiSpan } from "./pii-types.js";

/**
 * Credentials, by the formats their issuers publish so scanners can find them: OpenAI
 * (`sk-…`, `sk-proj-…`), Anthropic (`sk-ant-api03-…`), Google API keys (`AIza` + 35), AWS access
 * key ids (`AKIA`/`ASIA` + 16) and `aws_secret_access_key = <40>` assignments, GitHub tokens,
 * JWTs (three base64url parts whose header decodes to JSON with `alg`), PEM private-key blocks,
 * and Switchboard's own `sb_live_` keys (checksum verified, so a look-alike is not a key).
 */
export const detectSecrets: PiiDetector = (text) => [
  ...matchAll(text, /(?<![\w-])sk-(?:ant-(?:api|admin)\d{2}-|proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}(?![\w-])/g, "SECRET", (m) => /\d/.test(m[0]) && /[A-Za-z]/.test(m[0].slice(3))),
  ...matchAll(text, /(?<![\w-])AIza[0-9A-Za-z_-]{35}(?![\w-])/g, "SECRET", () => true),
  ...matchAll(text, /(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}(?![A-Z0-9])/g, "SECRET", () => true),
  ...matchAll(text, /\baws_secret_access_key\s*[:=]\s*["']?([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])/gi, "SECRET", () => true).map(valueOnly(text)),
  ...matchAll(text, /(?<![\w])(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}(?![\w])|(?<![\w])github_pat_[A-Za-z0-9_]{60,90}(?![\w])/g, "SECRET", () => true),
  ...matchAll(text, /(?<![\w.-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}(?![\w-]|\.[\w-])/g, "SECRET", (m) => jwtHeaderValid(m[0])),
  ...matchAll(text, /(?<![\w])sb_[a-z]{2,16}_[0-9A-Za-z]{49}(?![\w])/g, "SECRET", (m) => parseSecret(m[0]) !== undefined),
  ...privateKeyBlocks(text),
];

/** For an `aws_secret_access_key = value` match, the span of the value alone. */
function valueOnly(text: string): (span: PiiSpan) => PiiSpan {
  return (span) => {
    const matched = text.slice(span.start, span.end);
    const value = /[A-Za-z0-9/+=]{40}$/.exec(matched)![0];
    return { ...span, start: span.end - value.length };
  };
}

function jwtHeaderValid(token: string): boolean {
  try {
    const header = JSON.parse(Buffer.from(token.slice(0, token.indexOf(".")), "base64url").toString("utf8")) as unknown;
    return typeof header === "object" && header !== null && typeof (header as { alg?: unknown }).alg === "string";
  } catch {
    return false;
  }
}

/**
 * PEM private-key blocks, header to footer, found with `indexOf` (linear, no regex over the
 * body). A header whose footer never comes is still a secret: the span runs to the end of the
 * text (or of a streamed window), so a key cut off mid-block is masked too.
 */
function privateKeyBlocks(text: string): PiiSpan[] {
  const out: PiiSpan[] = [];
  const header = /-----BEGIN ((?:[A-Z0-9]+ ){0,3})PRIVATE KEY( BLOCK)?-----/g;
  for (let m = header.exec(text); m !== null; m = header.exec(text)) {
    const footer = `-----END ${m[1]}PRIVATE KEY${m[2] ?? ""}-----`;
    const at = text.indexOf(footer, m.index + m[0].length);
    const end = at === -1 ? text.length : at + footer.length;
    out.push({ entity: "SECRET", start: m.index, end });
    header.lastIndex = end;
  }
  return out;
}
