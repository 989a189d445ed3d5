import { create } from "@bufbuild/protobuf";
import { DurationSchema, durationFromMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { ViolationsSchema } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import {
  BudgetExceededSchema,
  CapabilityMissingSchema,
  GuardrailViolationSchema,
  RateLimitDimension,
  RateLimitExceededSchema,
} from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { withRetryInfo } from "../errors/retry-info.js";
import { brokenPolicyError } from "../guardrails/policy-resolver.js";
import { ledgerFullError } from "../limits/ledger-full-error.js";
import { httpStatusOf, openAIErrorOf } from "./error-mapping.js";
import { OpenAIRequestError } from "./openai-request-error.js";

const NOW = 1_700_000_000_000;

describe("openAIErrorOf", () => {
  it.each([
    [Code.Unauthenticated, 401],
    [Code.PermissionDenied, 403],
    [Code.NotFound, 404],
    [Code.ResourceExhausted, 429],
    [Code.InvalidArgument, 400],
    [Code.FailedPrecondition, 400],
    [Code.Unavailable, 503],
    [Code.DeadlineExceeded, 504],
    [Code.Internal, 500],
  ])("maps code %s to HTTP %s", (code, status) => {
    expect(httpStatusOf(code)).toBe(status);
    expect(openAIErrorOf(new ConnectError("m", code), NOW).status).toBe(status);
  });

  it("keeps a ConnectError's message and names the code; an unknown throw says only 'internal error'", () => {
    expect(openAIErrorOf(new ConnectError("route x is not defined", Code.NotFound), NOW).body).toEqual({
      error: { message: "route x is not defined", type: "invalid_request_error", param: null, code: "not_found" },
    });
    expect(openAIErrorOf(new Error("secret stack"), NOW)).toEqual({
      status: 500,
      headers: {},
      body: { error: { message: "internal error", type: "server_error", param: null, code: "internal" } },
    });
  });

  it("answers 503 for a database that cannot be reached (P8: retry), whether the cause is the socket's, the server's or pg's", () => {
    const causes = [
      Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" }),
      Object.assign(new Error("terminating connection due to administrator command"), { code: "57P01" }),
      new Error("Connection terminated unexpectedly"),
      Object.assign(new Error("canceling statement due to statement timeout"), { code: "57014" }),
      Object.assign(new Error("Postgres did not answer within 32000 ms (statement bound 30000 ms); the connection is presumed dead and was closed"), { code: "ETIMEDOUT" }),
      new Error("a query failed", { cause: Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }) }),
    ];
    for (const cause of causes) {
      expect(openAIErrorOf(cause, NOW)).toMatchObject({ status: 503, body: { error: { code: "unavailable", message: "the database is unavailable; retry shortly" } } });
    }
    // A query the database refused is a bug of ours, not an outage.
    expect(openAIErrorOf(Object.assign(new Error("syntax error"), { code: "42601" }), NOW).status).toBe(500);
  });

  it("uses OpenAI's invalid_api_key code for 401", () => {
    expect(openAIErrorOf(new ConnectError("bad key", Code.Unauthenticated), NOW).body.error.code).toBe("invalid_api_key");
  });

  it("gives a budget refusal insufficient_quota, retry-after until the reset and x-should-retry false", () => {
    const detail = create(BudgetExceededSchema, { budget: "orgs/a/budgets/b", resetTime: timestampFromMs(NOW + 90_500) });
    const err = new ConnectError("budget exceeded", Code.ResourceExhausted, undefined, [{ desc: BudgetExceededSchema, value: detail }]);
    const a = openAIErrorOf(err, NOW);
    expect(a.status).toBe(429);
    expect(a.body.error).toMatchObject({ type: "insufficient_quota", code: "budget_exceeded" });
    expect(a.headers).toEqual({ "x-should-retry": "false", "retry-after": "91", "retry-after-ms": "90500" });
  });

  it("gives a rate limit its retry delay, or x-should-retry false when waiting cannot help, and the refusing limit as x-ratelimit-*", () => {
    const limited = (delayMs?: number) =>
      new ConnectError("slow down", Code.ResourceExhausted, undefined, [
        {
          desc: RateLimitExceededSchema,
          value: create(RateLimitExceededSchema, { dimension: RateLimitDimension.TOKENS, limit: 5000n, ...(delayMs === undefined ? {} : { retryDelay: durationFromMs(delayMs) }) }),
        },
      ]);
    const a = openAIErrorOf(limited(1_200), NOW);
    expect(a.body.error).toMatchObject({ type: "tokens", code: "rate_limit_exceeded" });
    expect(a.headers).toEqual({
      "retry-after": "2",
      "retry-after-ms": "1200",
      "x-ratelimit-limit-tokens": "5000",
      "x-ratelimit-remaining-tokens": "0",
      "x-ratelimit-reset-tokens": "1.2s",
    });
    expect(openAIErrorOf(limited(), NOW).headers).toEqual({ "x-should-retry": "false", "x-ratelimit-limit-tokens": "5000", "x-ratelimit-remaining-tokens": "0" });
  });

  it("gives a retryable refusal with google.rpc.RetryInfo (the usage ledger full) its delay as retry-after", () => {
    const shed = openAIErrorOf(ledgerFullError(1_200), NOW);
    expect(shed.status).toBe(503);
    expect(shed.body.error).toMatchObject({ type: "server_error", code: "unavailable" });
    expect(shed.headers).toEqual({ "retry-after": "2", "retry-after-ms": "1200" });
    expect(openAIErrorOf(withRetryInfo(new ConnectError("m", Code.Unavailable), 40), NOW).headers).toEqual({ "retry-after": "1", "retry-after-ms": "40" });
    expect(openAIErrorOf(new ConnectError("every target failed", Code.Unavailable), NOW).headers).toEqual({});
  });

  it("names a guardrail block and carries a surface error's param, code and status", () => {
    const blocked = new ConnectError("blocked", Code.PermissionDenied, undefined, [{ desc: GuardrailViolationSchema, value: create(GuardrailViolationSchema, { rule: "pii" }) }]);
    expect(openAIErrorOf(blocked, NOW).body.error.code).toBe("guardrail_violation");
    const big = new OpenAIRequestError("too big", Code.InvalidArgument, { httpStatus: 413, errorCode: "request_too_large", param: "messages" });
    expect(openAIErrorOf(big, NOW)).toMatchObject({ status: 413, body: { error: { code: "request_too_large", param: "messages" } } });
  });

  it("names the field of a schema-style violation (a buf.validate.Violations detail) as param, indexes included", () => {
    const violated = (...elements: { fieldName: string; subscript?: { case: "index"; value: bigint } }[]) =>
      new ConnectError("bad", Code.InvalidArgument, undefined, [{ desc: ViolationsSchema, value: create(ViolationsSchema, { violations: [{ field: { elements }, ruleId: "r" }] }) }]);
    expect(openAIErrorOf(violated({ fieldName: "tool_choice" }), NOW)).toMatchObject({ status: 400, body: { error: { type: "invalid_request_error", param: "tool_choice" } } });
    expect(openAIErrorOf(violated({ fieldName: "messages", subscript: { case: "index", value: 2n } }, { fieldName: "role" }), NOW).body.error.param).toBe("messages[2].role");
    expect(openAIErrorOf(new ConnectError("bad", Code.InvalidArgument), NOW).body.error.param).toBeNull();
  });
});

describe("openAIErrorOf, the whole table and the edges of retry-after", () => {
  it.each([
    [Code.Canceled, 499, "invalid_request_error"],
    [Code.Unknown, 500, "server_error"],
    [Code.InvalidArgument, 400, "invalid_request_error"],
    [Code.DeadlineExceeded, 504, "server_error"],
    [Code.NotFound, 404, "invalid_request_error"],
    [Code.AlreadyExists, 409, "invalid_request_error"],
    [Code.PermissionDenied, 403, "permission_error"],
    [Code.ResourceExhausted, 429, "requests"],
    [Code.FailedPrecondition, 400, "invalid_request_error"],
    [Code.Aborted, 409, "invalid_request_error"],
    [Code.OutOfRange, 400, "invalid_request_error"],
    [Code.Unimplemented, 501, "invalid_request_error"],
    [Code.Internal, 500, "server_error"],
    [Code.Unavailable, 503, "server_error"],
    [Code.DataLoss, 500, "server_error"],
    [Code.Unauthenticated, 401, "invalid_request_error"],
  ])("answers code %s with HTTP %s and type %s", (code, status, type) => {
    const a = openAIErrorOf(new ConnectError("m", code), NOW);
    expect(a.status).toBe(status);
    expect(a.body.error.type).toBe(type);
    expect(a.headers).toEqual({});
  });

  it("gives a bare 429 (no limit named) rate_limit_exceeded, and a missing capability its own code", () => {
    expect(openAIErrorOf(new ConnectError("busy", Code.ResourceExhausted), NOW).body.error).toEqual({ message: "busy", type: "requests", param: null, code: "rate_limit_exceeded" });
    const missing = new ConnectError("no tools", Code.FailedPrecondition, undefined, [{ desc: CapabilityMissingSchema, value: create(CapabilityMissingSchema, {}) }]);
    expect(openAIErrorOf(missing, NOW)).toMatchObject({ status: 400, body: { error: { type: "invalid_request_error", code: "capability_missing" } } });
    expect(openAIErrorOf(new ConnectError("m", Code.FailedPrecondition), NOW).body.error.code).toBe("failed_precondition");
  });

  // The request is fine: the operator's configuration is not. A 400 would tell the caller to fix
  // its request; a plain 5xx would have OpenAI's SDKs retry within seconds what only an operator
  // can fix (update, disable or delete the policy).
  it("answers a guardrail policy that does not compile 500 server_error, not retried, naming the policy", () => {
    const err = brokenPolicyError(["orgs/a/guardrail-policies/strict"]);
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(openAIErrorOf(err, NOW)).toEqual({
      status: 500,
      headers: { "x-should-retry": "false" },
      body: { error: { message: err.rawMessage, type: "server_error", param: null, code: "guardrail_policy_broken" } },
    });
  });

  it("never sends a negative wait: a budget whose reset has just passed says retry after 1 s, 0 ms", () => {
    const detail = create(BudgetExceededSchema, { budget: "orgs/a/budgets/b", resetTime: timestampFromMs(NOW - 500) });
    const err = new ConnectError("budget exceeded", Code.ResourceExhausted, undefined, [{ desc: BudgetExceededSchema, value: detail }]);
    expect(openAIErrorOf(err, NOW).headers).toEqual({ "x-should-retry": "false", "retry-after": "1", "retry-after-ms": "0" });
  });

  it("says retry-after in whole seconds rounded up, beside the exact retry-after-ms", () => {
    const err = new ConnectError("slow down", Code.ResourceExhausted, undefined, [
      { desc: RateLimitExceededSchema, value: create(RateLimitExceededSchema, { dimension: RateLimitDimension.REQUESTS, limit: 10n, retryDelay: create(DurationSchema, { seconds: 2n, nanos: 500_000 }) }) },
    ]);
    expect(openAIErrorOf(err, NOW).headers).toMatchObject({ "retry-after": "3", "retry-after-ms": "2001" });
  });

  it("takes a rate limit's or a budget's own wait over a RetryInfo detail on the same error", () => {
    const rate = withRetryInfo(
      new ConnectError("slow down", Code.ResourceExhausted, undefined, [
        { desc: RateLimitExceededSchema, value: create(RateLimitExceededSchema, { dimension: RateLimitDimension.REQUESTS, limit: 10n, retryDelay: durationFromMs(1_200) }) },
      ]),
      30_000,
    );
    expect(openAIErrorOf(rate, NOW).headers).toMatchObject({ "retry-after": "2", "retry-after-ms": "1200" });
    const budget = withRetryInfo(
      new ConnectError("budget exceeded", Code.ResourceExhausted, undefined, [{ desc: BudgetExceededSchema, value: create(BudgetExceededSchema, { budget: "b", resetTime: timestampFromMs(NOW + 90_000) }) }]),
      1_000,
    );
    expect(openAIErrorOf(budget, NOW).headers).toMatchObject({ "retry-after": "90", "retry-after-ms": "90000" });
  });
});
