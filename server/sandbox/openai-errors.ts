/**
 * OpenAI's response headers and error envelopes (`{"error": {message, type, param, code}}`), with
 * the documented messages, types and codes per status and `retry-after`/`x-ratelimit-*` on 429s.
 */
import type { WirePlan } from "./scripted-server.js";
import type { Fault } from "./script-types.js";

/** The `error` object of the envelope. */
export interface OpenAIErrorBody {
  message: string;
  type: string;
  param: string | null;
  code: string | null;
}

/** The headers OpenAI sends on every answer. */
export function openAIHeaders(requestId: string): Record<string, string> {
  return {
    "x-request-id": requestId,
    "openai-processing-ms": "12",
    "openai-version": "2020-10-01",
    "x-ratelimit-limit-requests": "10000",
    "x-ratelimit-limit-tokens": "2000000",
    "x-ratelimit-remaining-requests": "9999",
    "x-ratelimit-remaining-tokens": "1999000",
    "x-ratelimit-reset-requests": "6ms",
    "x-ratelimit-reset-tokens": "30ms",
  };
}

/** An error answer: the envelope with the usual headers plus `extra`. */
export function openAIEnvelope(status: number, requestId: string, error: OpenAIErrorBody, extra: Record<string, string> = {}): WirePlan {
  return { type: "json", status, headers: { ...openAIHeaders(requestId), ...extra }, body: { error } };
}

/** The envelope OpenAI sends for `status`, shaped by the fault's error type, message and retry delays. */
export function openAIStatusError(status: number, fault: Extract<Fault, { kind: "status" }>, requestId: string): WirePlan {
  const code = fault.errorType ?? null;
  let e: OpenAIErrorBody;
  let extra: Record<string, string> = {};
  switch (status) {
    case 400:
      e = code === "context_length_exceeded"
        ? { message: "This model's maximum context length is 128000 tokens. However, your messages resulted in 130017 tokens. Please reduce the length of the messages.", type: "invalid_request_error", param: "messages", code }
        : { message: "Invalid value for 'messages'.", type: "invalid_request_error", param: null, code };
      break;
    case 401:
      e = { message: "Incorrect API key provided: sk-fake***0000. You can find your API key at https://platform.openai.com/account/api-keys.", type: "invalid_request_error", param: null, code: code ?? "invalid_api_key" };
      break;
    case 403:
      e = { message: "Country, region, or territory not supported", type: "request_forbidden", param: null, code: code ?? "unsupported_country_region_territory" };
      break;
    case 404:
      e = { message: "The model does not exist or you do not have access to it.", type: "invalid_request_error", param: null, code: code ?? "model_not_found" };
      break;
    case 429:
      e = code === "insufficient_quota"
        ? { message: "You exceeded your current quota, please check your plan and billing details.", type: "insufficient_quota", param: null, code }
        : { message: "Rate limit reached for requests per min (RPM): Limit 10000, Used 10000, Requested 1. Please try again in 6ms.", type: "requests", param: null, code: code ?? "rate_limit_exceeded" };
      extra = {
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": fault.retryAfterSeconds === undefined ? "1s" : `${fault.retryAfterSeconds}s`,
        ...(fault.retryAfterSeconds === undefined ? {} : { "retry-after": String(fault.retryAfterSeconds) }),
        ...(fault.retryAfterMs === undefined ? {} : { "retry-after-ms": String(fault.retryAfterMs) }),
      };
      break;
    case 503:
      e = { message: "The engine is currently overloaded, please try again later.", type: "server_error", param: null, code };
      break;
    default:
      e = { message: "The server had an error while processing your request. Sorry about that!", type: status >= 500 ? "server_error" : "invalid_request_error", param: null, code };
  }
  if (fault.message !== undefined) e = { ...e, message: fault.message };
  if (status !== 429) {
    if (fault.retryAfterSeconds !== undefined) extra["retry-after"] = String(fault.retryAfterSeconds);
    if (fault.retryAfterMs !== undefined) extra["retry-after-ms"] = String(fault.retryAfterMs);
  }
  return openAIEnvelope(status, requestId, e, extra);
}
