/**
 * Basic-auth credentials written into a user-configured URL (`https://user:pass@host/hook`) made
 * deliverable. Users put them there because curl and most HTTP clients send them as an
 * `Authorization: Basic` header; Node's `fetch` instead refuses any URL with userinfo, so every
 * outbound `fetch` of such a URL (budget alert and audit checkpoint webhooks) goes through here.
 * Node's `http.request` (the external guardrails' Connect transport) already does the same.
 */

/** A URL and headers ready for `fetch`: no userinfo in the URL, its credentials in the headers. */
export interface CredentialedRequest {
  url: string;
  headers: Record<string, string>;
}

/**
 * `url` without its userinfo, and `headers` with `authorization: Basic base64(user:pass)` added,
 * user and password percent-decoded and encoded as UTF-8 (RFC 7617), as curl and Node's
 * `http.request` send them. A header `Authorization` the caller set already wins (as with curl's
 * `-H` and Node's `auth` option); the userinfo is dropped all the same. A URL without userinfo,
 * or one that does not parse, is returned as it is (fetch then reports it). Never mutates `headers`.
 */
export function withUrlCredentials(url: string, headers: Record<string, string>): CredentialedRequest {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { url, headers };
  }
  if (parsed.username === "" && parsed.password === "") return { url, headers };
  const credentials = `${decoded(parsed.username)}:${decoded(parsed.password)}`;
  parsed.username = "";
  parsed.password = "";
  if (Object.keys(headers).some((name) => name.toLowerCase() === "authorization")) return { url: parsed.href, headers };
  return { url: parsed.href, headers: { ...headers, authorization: `Basic ${Buffer.from(credentials, "utf8").toString("base64")}` } };
}

/** Percent-decoded; a malformed escape (`%zz`, which the URL parser keeps) is sent as written. */
function decoded(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}
