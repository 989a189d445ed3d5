/** What a censored value is replaced with. */
export const CENSOR = "[redacted]";

/**
 * Property names censored one level down in every logged object (`*.authorization`, `*.apiKey`,
 * …: `{ err: { value } }`, `{ credential: { secret } }`), and at the top level for `authorization`.
 * `headers.cookie` is censored too.
 */
const NESTED = new Set(["authorization", "apiKey", "api_key", "secret", "password", "value"]);

/** The paths censored, in pino's `redact.paths` notation (documentation and tests). */
export const REDACTED_PATHS: readonly string[] = ["authorization", ...[...NESTED].map((k) => `*.${k}`), "headers.cookie"];

const has = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/**
 * A shallow copy with the same prototype and own properties, non-enumerable ones included: an
 * error stays an error (pino serialises `err` after this hook, with its type, message and stack).
 * An accessor is read on the original and copied as its value: from Node 22 (V8 12) an error's
 * own `stack` is a getter that answers only for the error it was made on, so a copied getter
 * would log no stack.
 */
function copyOf(value: object): object {
  const copy = Object.create(Object.getPrototypeOf(value) as object | null) as object;
  for (const k of Object.getOwnPropertyNames(value)) {
    const own = Object.getOwnPropertyDescriptor(value, k)!;
    const data = "value" in own ? own : { value: (value as Record<string, unknown>)[k], writable: true, enumerable: own.enumerable, configurable: true };
    Object.defineProperty(copy, k, data);
  }
  return copy;
}

/** `value` with its secret-bearing children censored; the same object when it holds none. */
function censorChildren(key: string, value: object): object {
  if (Array.isArray(value)) return value;
  let hit = key === "headers" && has(value, "cookie");
  if (!hit) for (const k in value) if (has(value, k) && NESTED.has(k)) { hit = true; break; }
  if (!hit) return value;
  const plain = copyOf(value) as Record<string, unknown>;
  for (const k of Object.keys(plain)) if (NESTED.has(k)) plain[k] = CENSOR;
  if (key === "headers" && has(plain, "cookie")) plain.cookie = CENSOR;
  return plain;
}

/**
 * Censors {@link REDACTED_PATHS} in one log call's object (pino's `formatters.log` and
 * `formatters.bindings`). Copy on write: an object holding nothing to censor — every access-log
 * line — is returned as it is, without a copy. This replaces pino's `redact` option, which with
 * wildcard paths re-serialises every top-level value of every line through its own walker
 * (≈ 14 KB allocated per access-log line, issue #11's allocation profile).
 */
export function redactLogObject<T extends Record<string, unknown>>(obj: T): T {
  let out: Record<string, unknown> | undefined;
  for (const key in obj) {
    if (!has(obj, key)) continue;
    const value = obj[key];
    let next: unknown = value;
    if (key === "authorization") next = CENSOR;
    else if (typeof value === "object" && value !== null) next = censorChildren(key, value);
    if (next !== value) (out ??= { ...obj })[key] = next;
  }
  return (out ?? obj) as T;
}

/**
 * A URL as logs may show it: scheme, host and path, without userinfo, query or fragment, which may
 * hold a token (`https://user:pass@host`, `?token=`).
 */
export function urlForLog(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return "(invalid url)";
  }
}

/**
 * `text` (an error's message) with `url` replaced by {@link urlForLog}'s form: as given, as `fetch`
 * normalises it, and as sent without its userinfo (`withUrlCredentials`), whose query may still
 * hold a token. Node's fetch quotes a URL it refuses (one with userinfo, an invalid one) whole.
 */
export function withoutUrl(text: string, url: string): string {
  const forms = [url];
  try {
    const parsed = new URL(url);
    forms.push(parsed.href);
    parsed.username = "";
    parsed.password = "";
    forms.push(parsed.href);
  } catch {
    // not a URL: only the text as given is replaced
  }
  let out = text;
  for (const form of forms) out = out.split(form).join(urlForLog(url));
  return out;
}
