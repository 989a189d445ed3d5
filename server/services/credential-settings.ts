import { BASE_URL_SETTING } from "../providers/registry.js";
import type { FieldProblem } from "../errors/field-violation.js";
import type { EgressPolicy } from "../http/egress-policy.js";

/** Longest setting value: a URL with a path, an api version, an organization id. */
const MAX_VALUE_CHARS = 2048;
/** Printable ASCII without spaces: settings go into URLs and headers (no CR/LF, no control characters). */
const VALUE = /^[\x21-\x7e]+$/;

/**
 * Why each of a credential's `settings` is refused, for a credential of a kind accepting the
 * keys `accepted` (`ProviderDeclaration.settings`). `base_url` must be an absolute http(s) URL
 * without user info, query or fragment that the egress policy does not refuse as written: an
 * org admin sets it and the provider's answer comes back to the caller (the policy judges the
 * resolved address again at each connection). None when all are accepted.
 */
export function credentialSettingsProblems(kind: string, settings: Readonly<Record<string, string>>, accepted: readonly string[], egress: EgressPolicy): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const [key, value] of Object.entries(settings)) {
    const field = `credential.settings[${JSON.stringify(key)}]`;
    if (!accepted.includes(key)) {
      const known = accepted.length === 0 ? "it takes none" : `known: ${accepted.join(", ")}`;
      problems.push({ field, message: `unknown setting for a ${kind} credential; ${known}`, ruleId: "credential.settings.known" });
    } else if (value.length > MAX_VALUE_CHARS || !VALUE.test(value)) {
      problems.push({ field, message: `must be 1 to ${MAX_VALUE_CHARS} printable ASCII characters without spaces`, ruleId: "credential.settings.value" });
    } else if (key === BASE_URL_SETTING) {
      const problem = baseUrlProblem(value, egress);
      if (problem !== undefined) problems.push({ field, ...problem });
    }
  }
  return problems;
}

function baseUrlProblem(text: string, egress: EgressPolicy): Omit<FieldProblem, "field"> | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { message: "must be an absolute http or https URL, such as https://example.openai.azure.com", ruleId: "credential.settings.base_url" };
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return { message: `must be an http or https URL, not ${url.protocol}`, ruleId: "credential.settings.base_url" };
  if (url.username !== "" || url.password !== "") return { message: "must not carry user info: the credential's value is the secret", ruleId: "credential.settings.base_url" };
  if (url.search !== "" || url.hash !== "") return { message: "must not have a query or fragment: the adapter appends its own paths", ruleId: "credential.settings.base_url" };
  const refused = egress.urlRefusal(text);
  if (refused !== undefined) return { message: `refused by the egress policy: ${refused}`, ruleId: "url.egress" };
  return undefined;
}
