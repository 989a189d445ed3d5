import type { TokenUsage } from "./model.js";

/**
 * How a provider call failed, classified once by the adapter that saw the wire. Retry, fallback,
 * breakers, metrics and the error a caller sees all decide from this, never from a status code
 * or a provider's message.
 */
export type ProviderErrorKind =
  /** 429 or a provider rate-limit error; `retryAfterMs` when the provider said. */
  | "rate_limited"
  /** Overloaded: Anthropic 529 / `overloaded_error`, 503 with an overload body. */
  | "overloaded"
  /** Any other 5xx. */
  | "server_error"
  /** No response or no progress in time (connect, headers, first token, idle). */
  | "timeout"
  /** Refused, reset or dropped connection before a complete response. */
  | "connection"
  /** 400/422: the provider rejected the request content. */
  | "bad_request"
  /** 400 because the input is longer than the model's context. */
  | "context_length"
  /** The provider's content filter refused the request or the answer. */
  | "content_filter"
  /** 401/403: our credential is missing, wrong or lacks access. */
  | "auth"
  /** 404: unknown model or deployment. */
  | "not_found"
  /** The stream broke after it started: cut without its terminator, malformed, or an error event. */
  | "stream_error"
  /** Aborted through the call's signal. */
  | "cancelled";

/**
 * What each kind means, written for callers: the message every adapter gives (with its own prefix
 * or suffix), so a caller reads the same words for the same failure whichever provider served it,
 * and never the provider's own message text.
 */
export const KIND_DESCRIPTION: Readonly<Record<ProviderErrorKind, string>> = Object.freeze({
  rate_limited: "the provider rate-limited the call",
  overloaded: "the provider is overloaded",
  server_error: "the provider failed",
  timeout: "the provider did not answer in time",
  connection: "the connection to the provider failed",
  bad_request: "the provider rejected the request",
  context_length: "the input is longer than the model's context window",
  content_filter: "the provider's content filter refused the request",
  auth: "the provider refused the credential",
  not_found: "the provider does not know the model or deployment",
  stream_error: "the provider's stream broke",
  cancelled: "the call was cancelled",
});

/** Options of {@link ProviderError}. */
export interface ProviderErrorInit {
  /**
   * Tokens consumed before the failure (a stream that broke after content): provider-reported
   * when it said, else estimated from what was received. Billing needs it; absent means none.
   */
  usage?: TokenUsage;
  /** The HTTP status the provider answered with, when it answered. */
  httpStatus?: number;
  /** How long the provider asked us to wait (`retry-after`, `retry-after-ms`). */
  retryAfterMs?: number;
  /** The provider's own error type or code (for example `overloaded_error`), for logs. */
  providerCode?: string;
  /** The underlying error (socket error, parse error), for logs only. */
  cause?: unknown;
}

/**
 * A classified provider failure. `message` is written for callers and never contains the
 * provider's raw body or a credential.
 */
export class ProviderError extends Error {
  override readonly name = "ProviderError";
  readonly httpStatus?: number;
  readonly retryAfterMs?: number;
  readonly providerCode?: string;
  readonly usage?: TokenUsage;

  constructor(
    readonly kind: ProviderErrorKind,
    message: string,
    init: ProviderErrorInit = {},
  ) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.httpStatus = init.httpStatus;
    this.retryAfterMs = init.retryAfterMs;
    this.providerCode = init.providerCode;
    this.usage = init.usage;
  }
}

/**
 * `err` carrying `usage` as what the failed call consumed, unless it says already: a stream that
 * broke after the provider reported its tokens is billed as reported (P3: the provider's usage
 * when present), not from an estimate of the characters that arrived.
 */
export function withUsage(err: ProviderError, usage: TokenUsage | undefined): ProviderError {
  if (usage === undefined || err.usage !== undefined) return err;
  return new ProviderError(err.kind, err.message, {
    ...(err.httpStatus === undefined ? {} : { httpStatus: err.httpStatus }),
    ...(err.retryAfterMs === undefined ? {} : { retryAfterMs: err.retryAfterMs }),
    ...(err.providerCode === undefined ? {} : { providerCode: err.providerCode }),
    usage,
    cause: err.cause,
  });
}
