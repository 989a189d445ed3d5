/**
 * Classifies Gemini failures once. The envelope is Google's `{"error": {code, message, status,
 * details}}` (a JSON array of one such object is tolerated too); the retry delay comes from a
 * `retry-after` header when present, else from a `google.rpc.RetryInfo` detail (`"7s"`).
 * Messages are written for callers: they carry the status name, never Google's message text.
 */
import { kindOfStatus } from "../http/http-status.js";
import { parseRetryAfter } from "../http/retry-after.js";
import { KIND_DESCRIPTION, ProviderError, type ProviderErrorKind } from "../provider-error.js";
import type { GeminiErrorBody } from "./wire.js";

type ErrorInfo = NonNullable<GeminiErrorBody["error"]>;

/** A provider code safe to show: Google's enum names only (`RESOURCE_EXHAUSTED`), else undefined. */
export function safeCode(v: unknown): string | undefined {
  return typeof v === "string" && /^[A-Z][A-Z0-9_]{0,63}$/.test(v) ? v : undefined;
}

/** Reads the envelope from a body text; undefined when it is not Google's JSON envelope. */
export function parseErrorBody(text: string): ErrorInfo | undefined {
  try {
    const parsed = JSON.parse(text) as GeminiErrorBody | GeminiErrorBody[];
    const body = Array.isArray(parsed) ? parsed[0] : parsed;
    return typeof body?.error === "object" && body.error !== null ? body.error : undefined;
  } catch {
    return undefined;
  }
}

/** `google.rpc.RetryInfo.retryDelay` ("7s", "1.5s") in milliseconds, capped at one hour. */
export function retryInfoMs(info: ErrorInfo | undefined): number | undefined {
  for (const d of info?.details ?? []) {
    if (!d["@type"]?.endsWith("google.rpc.RetryInfo") || typeof d.retryDelay !== "string") continue;
    const m = /^(\d+(?:\.\d+)?)s$/.exec(d.retryDelay.trim());
    if (m) return Math.min(Math.round(Number(m[1]) * 1000), 3_600_000);
  }
  return undefined;
}

function kindOf(httpStatus: number, info: ErrorInfo | undefined): ProviderErrorKind {
  const status = info?.status ?? "";
  const message = info?.message ?? "";
  const reasons = (info?.details ?? []).map((d) => (typeof d.reason === "string" ? d.reason : ""));
  // Google answers a bad API key with 400 INVALID_ARGUMENT + ErrorInfo reason API_KEY_INVALID.
  if (reasons.some((r) => r.startsWith("API_KEY_"))) return "auth";
  if (status === "UNAUTHENTICATED" || status === "PERMISSION_DENIED") return "auth";
  if (httpStatus === 400) {
    if (/token count.*exceeds|exceeds the maximum number of tokens|context (window|length)/i.test(message)) return "context_length";
    // "User location is not supported", billing not enabled: our credential cannot be used here.
    if (status === "FAILED_PRECONDITION") return "auth";
  }
  if (status === "RESOURCE_EXHAUSTED") return "rate_limited";
  if ((httpStatus === 503 || status === "UNAVAILABLE") && /overload/i.test(message)) return "overloaded";
  if (status === "DEADLINE_EXCEEDED") return "timeout";
  return kindOfStatus(httpStatus);
}

/** The `ProviderError` for an HTTP error status and its body text. */
export function httpError(httpStatus: number, headers: Readonly<Record<string, string | string[] | undefined>>, bodyText: string): ProviderError {
  const info = parseErrorBody(bodyText);
  const kind = kindOf(httpStatus, info);
  const retryAfterMs = parseRetryAfter(headers) ?? retryInfoMs(info);
  const code = safeCode(info?.status);
  return new ProviderError(kind, `${KIND_DESCRIPTION[kind]} (HTTP ${httpStatus}${code ? ` ${code}` : ""})`, {
    httpStatus,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    ...(code ? { providerCode: code } : {}),
  });
}

/**
 * The `ProviderError` for an `{"error": …}` object inside a 200 stream: overloaded or rate-limited
 * when it says so, otherwise `stream_error`.
 */
export function streamError(info: ErrorInfo): ProviderError {
  const code = typeof info.code === "number" ? info.code : 500;
  const kind = kindOf(code, info);
  const final: ProviderErrorKind = kind === "overloaded" || kind === "rate_limited" ? kind : "stream_error";
  const retryAfterMs = retryInfoMs(info);
  const status = safeCode(info.status);
  return new ProviderError(final, `${KIND_DESCRIPTION[final]} (in-stream error${status ? ` ${status}` : ""})`, {
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    ...(status ? { providerCode: status } : {}),
  });
}

/** The prompt was blocked (`promptFeedback.blockReason`). */
export function blockedError(reason: unknown): ProviderError {
  const code = safeCode(reason);
  return new ProviderError("content_filter", `${KIND_DESCRIPTION.content_filter}${code ? ` (${code})` : ""}`, code ? { providerCode: code } : {});
}
