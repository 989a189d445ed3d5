import { kindOfStatus } from "../http/http-status.js";
import { parseRetryAfter } from "../http/retry-after.js";
import { KIND_DESCRIPTION, ProviderError, type ProviderErrorKind } from "../provider-error.js";
import type { WireErrorEnvelope } from "./wire.js";

type Headers = Readonly<Record<string, string | string[] | undefined>>;

/** Anthropic's wording for an input that does not fit the context window (an `invalid_request_error`). */
const CONTEXT_LENGTH = /prompt is too long|exceed(?:s|ed)? (?:the )?context (?:limit|window)|context window/i;

/**
 * Anthropic's answer when the account has no credit left (a 400 `invalid_request_error`): no retry
 * fixes it and the caller's request is not at fault — our credential cannot be used, like OpenAI's
 * `insufficient_quota`.
 */
const OUT_OF_CREDIT = /credit balance is too low/i;

/**
 * Classifies an HTTP error answer from its status and Anthropic's envelope
 * `{"type":"error","error":{"type","message"},"request_id"}`: `overloaded_error` (529, or any status
 * carrying it) → overloaded; 429 / `rate_limit_error` → rate_limited with the wait from
 * `retry-after`, else from the latest `anthropic-ratelimit-*-reset` of an exhausted limit;
 * a "prompt is too long" `invalid_request_error` → context_length; `timeout_error` → timeout;
 * otherwise the shared status mapping. The thrown message is one of a fixed set.
 */
export function classifyHttpError(status: number, headers: Headers, bodyText: string, now = Date.now()): ProviderError {
  const envelope = parseEnvelope(bodyText);
  const type = safeCode(envelope?.error?.type);
  const apiMessage = envelope?.error?.message ?? "";
  let kind = kindOfStatus(status);
  if (type === "overloaded_error") kind = "overloaded";
  else if (type === "rate_limit_error") kind = "rate_limited";
  else if (type === "timeout_error") kind = "timeout";
  else if (type === "billing_error" || (kind === "bad_request" && OUT_OF_CREDIT.test(apiMessage))) kind = "auth";
  else if (kind === "bad_request" && (type === undefined || type === "invalid_request_error") && CONTEXT_LENGTH.test(apiMessage)) kind = "context_length";
  const retryAfterMs = kind === "rate_limited" || kind === "overloaded" || status === 503 ? (parseRetryAfter(headers, now) ?? rateLimitResetMs(headers, now)) : undefined;
  const requestId = first(headers["request-id"]);
  return new ProviderError(kind, `anthropic: ${KIND_DESCRIPTION[kind]}`, {
    httpStatus: status,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    ...(type === undefined ? {} : { providerCode: type }),
    cause: new Error(`anthropic HTTP ${status}${type === undefined ? "" : ` ${type}`}${requestId === undefined ? "" : ` request-id ${safeId(requestId)}`}`),
  });
}

/**
 * Classifies an in-stream `event: error`: `overloaded_error` → overloaded (Anthropic's mid-stream
 * form of a 529), `rate_limit_error` → rate_limited, anything else → stream_error.
 */
export function classifyStreamError(data: string): ProviderError {
  const type = safeCode(parseEnvelope(data)?.error?.type);
  const kind: ProviderErrorKind = type === "overloaded_error" ? "overloaded" : type === "rate_limit_error" ? "rate_limited" : "stream_error";
  return new ProviderError(kind, `anthropic: ${kind === "stream_error" ? "the provider reported an error mid-stream" : KIND_DESCRIPTION[kind]}`, {
    ...(type === undefined ? {} : { providerCode: type }),
    cause: new Error(`anthropic stream error event${type === undefined ? "" : ` ${type}`}`),
  });
}

/** A stream that broke: cut, malformed, or out of order. `detail` is ours, never the provider's text. */
export function streamError(detail: string, cause?: unknown): ProviderError {
  return new ProviderError("stream_error", `anthropic: ${KIND_DESCRIPTION.stream_error}: ${detail}`, { cause });
}

/** A 2xx answer whose body is not the JSON the API documents. */
export function invalidResponse(cause?: unknown): ProviderError {
  return new ProviderError("server_error", "anthropic sent an unreadable response", { providerCode: "invalid_response", cause });
}

/**
 * The wait until the latest reset among exhausted limits (`anthropic-ratelimit-<limit>-remaining: 0`
 * with `anthropic-ratelimit-<limit>-reset` as an RFC 3339 time), capped at one hour.
 */
function rateLimitResetMs(headers: Headers, now: number): number | undefined {
  let latest: number | undefined;
  for (const [name, value] of Object.entries(headers)) {
    const match = /^anthropic-ratelimit-(.+)-remaining$/.exec(name);
    if (match === null || first(value)?.trim() !== "0") continue;
    const reset = Date.parse(first(headers[`anthropic-ratelimit-${match[1]}-reset`]) ?? "");
    if (!Number.isNaN(reset)) latest = Math.max(latest ?? 0, reset);
  }
  return latest === undefined ? undefined : Math.min(Math.max(0, latest - now), 3_600_000);
}

function parseEnvelope(text: string): WireErrorEnvelope | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null ? (value as WireErrorEnvelope) : undefined;
  } catch {
    return undefined;
  }
}

/** The provider's error type, only when it looks like one (so nothing else can ride along). */
function safeCode(value: unknown): string | undefined {
  return typeof value === "string" && /^[a-z][a-z0-9_]{0,63}$/.test(value) ? value : undefined;
}

function safeId(value: string): string {
  return /^[A-Za-z0-9_-]{1,128}$/.test(value) ? value : "(unreadable)";
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
