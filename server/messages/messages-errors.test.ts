import { create } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { BudgetExceededSchema, RateLimitDimension, RateLimitExceededSchema } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { invalidField } from "../openai/openai-request-error.js";
import { anthropicErrorOf } from "./messages-errors.js";

const NOW = 1_700_000_000_000;

describe("anthropicErrorOf", () => {
  it("writes Anthropic's envelope with the status and type of each canonical code", () => {
    const cases: Array<[Code, number, string]> = [
      [Code.InvalidArgument, 400, "invalid_request_error"],
      [Code.Unauthenticated, 401, "authentication_error"],
      [Code.PermissionDenied, 403, "permission_error"],
      [Code.NotFound, 404, "not_found_error"],
      [Code.ResourceExhausted, 429, "rate_limit_error"],
      [Code.Internal, 500, "api_error"],
      [Code.Unavailable, 529, "overloaded_error"],
      [Code.DeadlineExceeded, 504, "api_error"],
    ];
    for (const [code, status, type] of cases) {
      const answer = anthropicErrorOf(new ConnectError("nope", code), NOW, "req-1");
      expect({ code: Code[code], status: answer.status, body: answer.body }).toEqual({ code: Code[code], status, body: { type: "error", error: { type, message: "nope" }, request_id: "req-1" } });
    }
  });

  it("hides an unexpected error's message and names a refused field in the message", () => {
    expect(anthropicErrorOf(new Error("secret detail"), NOW).body).toEqual({ type: "error", error: { type: "api_error", message: "internal error" } });
    expect(anthropicErrorOf(invalidField("max_tokens", "must be at least 1"), NOW).body.error.message).toBe("max_tokens: must be at least 1");
    expect(anthropicErrorOf(invalidField("max_tokens", "'max_tokens' is a required property"), NOW).body.error.message).toBe("'max_tokens' is a required property");
  });

  it("keeps the retry headers: retry-after for a rate limit, and for a budget with x-should-retry false", () => {
    const rate = new ConnectError("slow down", Code.ResourceExhausted, undefined, [
      { desc: RateLimitExceededSchema, value: create(RateLimitExceededSchema, { dimension: RateLimitDimension.REQUESTS, limit: 2n, retryDelay: durationFromMs(1500) }) },
    ]);
    expect(anthropicErrorOf(rate, NOW).headers).toMatchObject({ "retry-after": "2", "retry-after-ms": "1500" });
    const budget = new ConnectError("spent", Code.ResourceExhausted, undefined, [
      { desc: BudgetExceededSchema, value: create(BudgetExceededSchema, { budget: "b", resetTime: timestampFromMs(NOW + 60_000) }) },
    ]);
    const answer = anthropicErrorOf(budget, NOW);
    expect(answer.status).toBe(429);
    expect(answer.headers).toMatchObject({ "retry-after": "60", "x-should-retry": "false" });
  });
});
