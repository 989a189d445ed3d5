import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { AttemptSchema } from "../../gen/ts/switchboard/v1/common_pb.js";
import { openAIErrorOf } from "../openai/error-mapping.js";
import { ProviderError } from "../providers/provider-error.js";
import { providerErrorToConnect } from "./provider-error-to-connect.js";
import { RETRY_INFO, retryInfoMs } from "./retry-info.js";

const attempts = [create(AttemptSchema, { index: 1, provider: "openai", model: "m", error: "scripted" })];

describe("retry hints of a provider's final failure", () => {
  it("passes a rate limit's retry-after on as RetryInfo and as retry-after / retry-after-ms", () => {
    const err = providerErrorToConnect(new ProviderError("rate_limited", "rate-limited", { httpStatus: 429, retryAfterMs: 2500 }), { route: "r", attempts });
    expect(err.code).toBe(Code.Unavailable);
    expect(retryInfoMs(err)).toBe(2500);
    expect(err.details.some((d) => "type" in d && d.type === RETRY_INFO)).toBe(true);
    const answer = openAIErrorOf(err, 0);
    expect(answer.status).toBe(503);
    expect(answer.headers).toEqual({ "retry-after": "3", "retry-after-ms": "2500" });
  });

  it("adds no retry delay when the provider named none", () => {
    const err = providerErrorToConnect(new ProviderError("server_error", "failed", { httpStatus: 500 }), { route: "r", attempts });
    expect(retryInfoMs(err)).toBeUndefined();
    expect(openAIErrorOf(err, 0).headers).toEqual({});
  });

  it.each(["auth", "not_found"] as const)("answers %s as a 500 the OpenAI SDKs do not retry", (kind) => {
    const err = providerErrorToConnect(new ProviderError(kind, "broken", { httpStatus: 401 }), { route: "r", attempts });
    expect(err.code).toBe(Code.Internal);
    expect(openAIErrorOf(err, 0)).toMatchObject({ status: 500, headers: { "x-should-retry": "false" } });
  });

  it("leaves an unexpected internal error retryable", () => {
    const err = providerErrorToConnect(new Error("adapter bug"), { route: "r", attempts });
    expect(openAIErrorOf(err, 0).headers).toEqual({});
  });
});
