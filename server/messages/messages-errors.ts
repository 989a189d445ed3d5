import { Code, ConnectError } from "@connectrpc/connect";
import { openAIErrorOf } from "../openai/error-mapping.js";

/** Anthropic's error envelope. */
export interface AnthropicErrorBody {
  type: "error";
  error: { type: string; message: string };
  request_id?: string;
}

/** A complete error answer: status, extra headers and the envelope. */
export interface AnthropicErrorAnswer {
  status: number;
  headers: Record<string, string>;
  body: AnthropicErrorBody;
}

/** Anthropic's error type per HTTP status (its errors page); other 4xx are `invalid_request_error`, other 5xx `api_error`. */
const TYPE_BY_STATUS: Readonly<Record<number, string>> = Object.freeze({
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
  500: "api_error",
  529: "overloaded_error",
});

/**
 * The one mapping from a gateway failure to what an Anthropic client sees. It starts from the
 * OpenAI surface's (`openAIErrorOf`): the same status per canonical code and the same retry
 * headers — `retry-after`/`retry-after-ms` for a rate limit, a budget's reset or a provider's
 * delay, `x-should-retry: false` for what no retry fixes (a budget cap, a configuration fault),
 * which Anthropic's SDKs obey as OpenAI's do — and the same caller-safe message, then writes it
 * as `{"type": "error", "error": {"type", "message"}, "request_id"}`. `Unavailable` (a provider or
 * a dependency down or shedding load) is Anthropic's 529 `overloaded_error`, which its SDKs retry;
 * a refusal naming a field says the field in its message (Anthropic's envelope has no `param`).
 */
export function anthropicErrorOf(err: unknown, now: number, requestId?: string): AnthropicErrorAnswer {
  const base = openAIErrorOf(err, now);
  const unavailable = err instanceof ConnectError && err.code === Code.Unavailable && base.status === 503;
  const status = unavailable ? 529 : base.status;
  const type = TYPE_BY_STATUS[status] ?? (status >= 500 ? "api_error" : "invalid_request_error");
  let message = base.body.error.message;
  const param = base.body.error.param;
  if (param !== null && !message.includes(param)) message = `${param}: ${message}`;
  return {
    status,
    headers: base.headers,
    body: { type: "error", error: { type, message }, ...(requestId === undefined || requestId === "" ? {} : { request_id: requestId }) },
  };
}
