import { PROVIDER_DECLARATIONS } from "../providers/registry.js";
import { parseCredentialName } from "../vault/credential-names.js";
import type { ConfigIssue } from "./config-error.js";
import { closestName } from "./closest-name.js";

/** `SWITCHBOARD_CREDENTIAL_OPENAI` is the credential `credentials/openai`. */
const CREDENTIAL_PREFIX = "SWITCHBOARD_CREDENTIAL_";
/** `SWITCHBOARD_BASE_URL_OPENAI` is the endpoint of provider kind `openai`. */
const BASE_URL_PREFIX = "SWITCHBOARD_BASE_URL_";

/** Whether a variable's suffix is one the gateway reads: upper case, digits and underscores (`OPENAI_EU`). */
function isEnvSuffix(suffix: string): boolean {
  return /^[A-Z0-9_]+$/.test(suffix);
}

/** `OPENAI_EU` → `openai-eu`: lower case, underscores become dashes. */
function nameOf(suffix: string): string {
  return suffix.toLowerCase().replace(/_/g, "-");
}

/** The variables with `prefix` and a value (an empty one counts as unset, as for every variable). */
function withPrefix(env: Readonly<Record<string, string | undefined>>, prefix: string): Array<[suffix: string, value: string, name: string]> {
  const out: Array<[string, string, string]> = [];
  for (const [name, value] of Object.entries(env)) {
    if (name.startsWith(prefix) && value !== undefined && value !== "") out.push([name.slice(prefix.length), value, name]);
  }
  return out;
}

/**
 * Provider keys from the environment: `SWITCHBOARD_CREDENTIAL_OPENAI` is the credential
 * `credentials/openai` (underscores become dashes), the name a route target refers to.
 * Only names {@link providerEnvIssues} accepts are read (the config has checked them at start).
 */
export function credentialsFromEnv(env: Readonly<Record<string, string | undefined>>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [suffix, value] of withPrefix(env, CREDENTIAL_PREFIX)) {
    if (isEnvSuffix(suffix)) out.set(`credentials/${nameOf(suffix)}`, value);
  }
  return out;
}

/**
 * Provider endpoints from the environment: `SWITCHBOARD_BASE_URL_OPENAI=http://vllm:8000/v1`
 * points the kind `openai` elsewhere (a proxy, a self-hosted server, a benchmark's fake);
 * underscores in the kind become dashes.
 */
export function baseUrlsFromEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [suffix, value] of withPrefix(env, BASE_URL_PREFIX)) {
    if (isEnvSuffix(suffix)) out[nameOf(suffix)] = value;
  }
  return out;
}

/**
 * What is wrong with the `SWITCHBOARD_CREDENTIAL_<ID>` and `SWITCHBOARD_BASE_URL_<KIND>`
 * variables, each at the variable's name. A variable the gateway would not use was silently
 * ignored: a misspelt or lower-case kind sent calls to the vendor's public endpoint instead of the
 * proxy meant (with the real key), a lower-case credential left the gateway on the sandbox routes,
 * and a URL without a scheme surfaced only as "connection failed" on every call. Values are never
 * quoted (a key, or a URL that may carry a token).
 */
export function providerEnvIssues(env: Readonly<Record<string, string | undefined>>): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const [suffix, , name] of withPrefix(env, CREDENTIAL_PREFIX)) {
    if (!isEnvSuffix(suffix)) {
      issues.push({ path: name, message: `the credential id must be written in upper case, digits and underscores (${CREDENTIAL_PREFIX}${suffix.toUpperCase()})` });
    } else if (parseCredentialName(`credentials/${nameOf(suffix)}`) === undefined) {
      issues.push({ path: name, message: `"${nameOf(suffix)}" is not a credential id (a letter or digit, then up to 62 letters, digits or dashes): no route could name it` });
    }
  }
  const internal = PROVIDER_DECLARATIONS.filter((d) => d.internal).map((d) => d.kind);
  const kinds = PROVIDER_DECLARATIONS.filter((d) => !d.internal).map((d) => d.kind);
  for (const [suffix, value, name] of withPrefix(env, BASE_URL_PREFIX)) {
    const kind = nameOf(suffix);
    if (!isEnvSuffix(suffix)) {
      issues.push({ path: name, message: `the kind must be written in upper case (${BASE_URL_PREFIX}${suffix.toUpperCase()})` });
    } else if (internal.includes(kind)) {
      issues.push({ path: name, message: `the ${kind} runs inside the gateway; its endpoint cannot be set` });
    } else if (!kinds.includes(kind)) {
      const guess = closestName(kind, kinds);
      issues.push({ path: name, message: `unknown provider kind "${kind}"${guess ? ` (did you mean "${guess}"?)` : ""}; known: ${kinds.join(", ")}` });
    } else if (!isHttpUrl(value)) {
      issues.push({ path: name, message: "must be a URL starting with http:// or https://, got a value that is not a valid URL" });
    }
  }
  return issues;
}

function isHttpUrl(value: string): boolean {
  try {
    const { protocol } = new URL(value);
    return protocol === "http:" || protocol === "https:";
  } catch {
    return false;
  }
}
