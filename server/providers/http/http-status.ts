import type { ProviderErrorKind } from "../provider-error.js";

/**
 * The default classification of an HTTP error status, shared by every adapter. An adapter refines
 * it from its own error envelope (a context-length 400, an overloaded 503, a content-filter 400)
 * before building the `ProviderError`.
 */
export function kindOfStatus(status: number): ProviderErrorKind {
  if (status === 429) return "rate_limited";
  if (status === 529) return "overloaded";
  if (status === 401 || status === 403) return "auth";
  if (status === 404) return "not_found";
  if (status === 408) return "timeout";
  if (status >= 500) return "server_error";
  return "bad_request";
}
