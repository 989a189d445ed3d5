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
 * Longest PEM block after its header, footer included: 16 KiB, above the largest real private key
 * (RSA at 16 384 bits, the most OpenSSL and OpenSSH generate: ≈ 13 KiB of base64 lines, as PKCS#8
 * or in OpenSSH's format). A longer body is masked up to this bound only.
 */
export const MAX_PEM_BLOCK_CHARS = 16 * 1024;

/**
 * The characters a PEM body can hold: base64 (`A–Z a–z 0–9 + / =`), spaces and line breaks (also
 * a key flattened to one line), `\` of a line break escaped in a JSON or shell string (`\n`), and
 * `- : ,` of RFC 1421's `Proc-Type: 4,ENCRYPTED` and `DEK-Info: AES-128-CBC,…` lines (and of the
 * footer itself).
 */
const PEM_BODY_CHARS = (() => {
  const table = new Uint8Array(128);
  for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/= \t\r\n\\-:,") table[c.charCodeAt(0)] = 1;
  return table;
})();

/**
 * PEM private-key blocks, found with a linear scan (no regex over the body). A block runs from
 * its header to the first of: the end of its footer; the first character no PEM body holds (see
 * {@link PEM_BODY_CHARS}: a `.`, a quote, a letter outside ASCII); {@link MAX_PEM_BLOCK_CHARS}
 * after the header; the end of the text. So a header whose footer never comes is still a secret
 * (a key cut off mid-block is masked), but only as far as a key's body could go: prose after a
 * bare header is not a key, and neither is text 16 KiB on.
 *
 * Where a block ends depends only on the text up to that end: a footer is looked for only where it
 * fits within the bound, and a footer that has not fully arrived is made of body characters, so
 * the block runs on to the end of the text. A stream scanned as it arrives therefore finds the
 * same blocks as the whole answer checked at once; while one reaches the end of the text so far
 * it is held back whole (a real key split across chunks is masked whole), at most the bound, and
 * the text after its end is released as the window releases prose. Stretching a footer-less
 * block to the end of the text instead held back, and rescanned per chunk, all the rest of the
 * answer after a bare header (quadratic: 70 KB of answer, ~6 s of CPU).
 */
function privateKeyBlocks(text: string): PiiSpan[] {
  const out: PiiSpan[] = [];
  const header = /-----BEGIN ((?:[A-Z0-9]+ ){0,3})PRIVATE KEY( BLOCK)?-----/g;
  for (let m = header.exec(text); m !== null; m = header.exec(text)) {
    const end = blockEnd(text, m.index + m[0].length, `-----END ${m[1]}PRIVATE KEY${m[2] ?? ""}-----`);
    out.push({ entity: "SECRET", start: m.index, end });
    header.lastIndex = end;
  }
  return out;
}

/** Where the block whose body starts at `body` and whose footer is `footer` ends (see {@link privateKeyBlocks}). */
function blockEnd(text: string, body: number, footer: string): number {
  const limit = Math.min(text.length, body + MAX_PEM_BLOCK_CHARS);
  const lastFooter = body + MAX_PEM_BLOCK_CHARS - footer.length;
  for (let i = body; i < limit; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2d && i <= lastFooter && text.startsWith(footer, i)) return i + footer.length;
    if (c >= 128 || PEM_BODY_CHARS[c] !== 1) return i;
  }
  return limit;
}
