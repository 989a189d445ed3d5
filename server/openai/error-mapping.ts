/**
 * The one mapping from a gateway failure to what an OpenAI client sees: OpenAI's error envelope
 * `{"error": {"message", "type", "param", "code"}}` with the HTTP status of the canonical Connect
 * code, and the retry headers OpenAI's SDKs obey. The README's error table is this file.
 */
import { timestampMs, durationMs } from "@bufbuild/protobuf/wkt";
import { ViolationsSchema, type FieldPath } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  BudgetExceededSchema,
  CapabilityMissingSchema,
  GuardrailViolationSchema,
  RateLimitDimension,
  RateLimitExceededSchema,
} from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { configurationFaultCode } from "../errors/configuration-fault.js";
import { databaseUnavailable } from "../errors/database-unavailable.js";
import { retryInfoMs, retryRefused } from "../errors/retry-info.js";
import { codeName } from "../interceptors/telemetry.js";
import { OpenAIRequestError } from "./openai-request-error.js";
import { refusedRateLimitHeaders } from "./rate-limit-headers.js";

/** The `error` object of OpenAI's envelope. */
export interface OpenAIErrorBody {
  message: string;
  type: string;
  param: string | null;
  code: string | null;
}

/** A complete error answer: status, extra headers and the envelope. */
export interface OpenAIErrorAnswer {
  status: number;
  headers: Record<string, string>;
  body: { error: OpenAIErrorBody };
}

/** HTTP status and OpenAI error type per canonical code. */
const STATUS: Record<Code, { status: number; type: string }> = {
  [Code.Canceled]: { status: 499, type: "invalid_request_error" },
  [Code.Unknown]: { status: 500, type: "server_error" },
  [Code.InvalidArgument]: { status: 400, type: "invalid_request_error" },
  [Code.DeadlineExceeded]: { status: 504, type: "server_error" },
  [Code.NotFound]: { status: 404, type: "invalid_request_error" },
  [Code.AlreadyExists]: { status: 409, type: "invalid_request_error" },
  [Code.PermissionDenied]: { status: 403, type: "permission_error" },
  [Code.ResourceExhausted]: { status: 429, type: "requests" },
  [Code.FailedPrecondition]: { status: 400, type: "invalid_request_error" },
  [Code.Aborted]: { status: 409, type: "invalid_request_error" },
  [Code.OutOfRange]: { status: 400, type: "invalid_request_error" },
  [Code.Unimplemented]: { status: 501, type: "invalid_request_error" },
  [Code.Internal]: { status: 500, type: "server_error" },
  [Code.Unavailable]: { status: 503, type: "server_error" },
  [Code.DataLoss]: { status: 500, type: "server_error" },
  [Code.Unauthenticated]: { status: 401, type: "invalid_request_error" },
};

/** The HTTP status a canonical code answers with on the OpenAI surface. */
export function httpStatusOf(code: Code): number {
  return STATUS[code].status;
}

/**
 * The answer for `err`. A `ConnectError` keeps its caller-safe message; its typed details choose
 * the OpenAI `type`/`code` and the retry headers: a rate limit's retry delay becomes
 * `retry-after` (seconds, rounded up) and `retry-after-ms`, beside the refusing limit's
 * `x-ratelimit-limit-*`, `-remaining-*` (0) and `-reset-*`; a budget refusal gets `retry-after`
 * until its period resets and `x-should-retry: false`, because OpenAI's SDKs otherwise retry
 * every 429 and waiting out a spend cap is not a retry. Any other error with a
 * `google.rpc.RetryInfo` detail (a call shed because the usage ledger is full, a provider's rate
 * limit with its `retry-after`) gets its delay as `retry-after` and `retry-after-ms`; one no retry
 * can fix (a provider refusing our credential or not knowing the route's model: a 500) gets
 * `x-should-retry: false`, as does a refusal the gateway's configuration caused
 * (`errors/configuration-fault.ts`: a guardrail policy that does not compile, a model without a
 * price under a spend cap), a 500 `server_error` with its own `code`, not its FailedPrecondition's
 * 400. A refusal naming a field in a `buf.validate.Violations` detail (a
 * schema rule's, or the gateway's own checks', `errors/field-violation.ts`: the Chat verb's
 * `tool_choice`) gets that field as `param`, as OpenAI names the field it refuses. A database that cannot be reached is a 503, as `Unavailable`;
 * anything else is a 500 "internal error" (the caller logs the cause). `now` (epoch ms) dates the budget reset.
 */
export function openAIErrorOf(err: unknown, now: number): OpenAIErrorAnswer {
  if (!(err instanceof ConnectError)) {
    const unavailable = databaseUnavailable(err);
    if (unavailable !== undefined) return openAIErrorOf(unavailable, now);
    return answer(500, {}, { message: "internal error", type: "server_error", param: null, code: "internal" });
  }
  const base = STATUS[err.code];
  const body: OpenAIErrorBody = { message: err.rawMessage, type: base.type, param: null, code: codeName(err.code) };
  const headers: Record<string, string> = {};
  let status = base.status;
  // (`instanceof` holds for every ConnectError — `ConnectError`'s check goes by name —, so a
  // plain one lands here too, with none of these fields.)
  if (err instanceof OpenAIRequestError) {
    status = err.httpStatus ?? status;
    Object.assign(headers, err.headers);
    body.param = err.param ?? null;
    body.code = err.errorCode ?? body.code;
  }
  if (body.param === null) {
    const field = err.findDetails(ViolationsSchema)[0]?.violations[0]?.field;
    if (field !== undefined) body.param = paramOf(field);
  }
  switch (err.code) {
    case Code.Unauthenticated:
      body.code = "invalid_api_key";
      break;
    case Code.PermissionDenied:
      if (err.findDetails(GuardrailViolationSchema).length > 0) body.code = "guardrail_violation";
      break;
    case Code.FailedPrecondition:
      if (err.findDetails(CapabilityMissingSchema).length > 0) body.code = "capability_missing";
      break;
    case Code.ResourceExhausted: {
      const budget = err.findDetails(BudgetExceededSchema)[0];
      const rate = err.findDetails(RateLimitExceededSchema)[0];
      if (budget !== undefined) {
        body.type = "insufficient_quota";
        body.code = "budget_exceeded";
        headers["x-should-retry"] = "false";
        if (budget.resetTime !== undefined) setRetryAfter(headers, timestampMs(budget.resetTime) - now);
      } else if (rate !== undefined) {
        const dimension = rate.dimension === RateLimitDimension.TOKENS ? "tokens" : "requests";
        body.type = dimension;
        body.code = "rate_limit_exceeded";
        const retryMs = rate.retryDelay === undefined ? undefined : durationMs(rate.retryDelay);
        // A shed call (dimension CONCURRENCY) was refused by an in-flight cap, not a per-minute
        // window: OpenAI's `x-ratelimit-*-requests` would report that cap as a requests-per-minute limit.
        if (rate.dimension !== RateLimitDimension.CONCURRENCY) Object.assign(headers, refusedRateLimitHeaders(dimension, Number(rate.limit), retryMs));
        if (retryMs === undefined) headers["x-should-retry"] = "false";
        else setRetryAfter(headers, retryMs);
      } else {
        body.code = "rate_limit_exceeded";
      }
      break;
    }
  }
  const fault = configurationFaultCode(err);
  if (fault !== undefined) {
    // The gateway's configuration, not the request: a 500 (a 400 would send the caller to fix a
    // request that is fine), not retried — only an operator can fix it.
    status = 500;
    body.type = "server_error";
    body.code = fault;
    headers["x-should-retry"] = "false";
  }
  const retryMs = headers["retry-after"] === undefined ? retryInfoMs(err) : undefined;
  if (retryMs !== undefined) setRetryAfter(headers, retryMs);
  if (retryRefused(err)) headers["x-should-retry"] = "false";
  return answer(status, headers, body);
}

/** A violation's field path as OpenAI writes a `param`: `messages[2].content`. */
function paramOf(field: FieldPath): string {
  return field.elements.map((e) => (e.subscript.case === "index" ? `${e.fieldName}[${e.subscript.value}]` : e.fieldName)).join(".");
}

/** `retry-after` in whole seconds (at least 1) and the exact `retry-after-ms`. */
function setRetryAfter(headers: Record<string, string>, ms: number): void {
  const wait = Math.max(0, Math.ceil(ms));
  headers["retry-after"] = String(Math.max(1, Math.ceil(wait / 1000)));
  headers["retry-after-ms"] = String(wait);
}

function answer(status: number, headers: Record<string, string>, error: OpenAIErrorBody): OpenAIErrorAnswer {
  return { status, headers, body: { error } };
}
