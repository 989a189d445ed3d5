import { describe, expect, it } from "vitest";
import { classifyHttpError } from "./errors.js";

const envelope = (type: string, message = "raw provider text") => JSON.stringify({ type: "error", error: { type, message }, request_id: "req_1" });

describe("classifyHttpError", () => {
  it("takes the wait from the latest reset of an exhausted limit when retry-after is absent", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    const err = classifyHttpError(
      429,
      {
        "anthropic-ratelimit-requests-remaining": "0",
        "anthropic-ratelimit-requests-reset": "2026-01-01T00:00:03Z",
        "anthropic-ratelimit-output-tokens-remaining": "0",
        "anthropic-ratelimit-output-tokens-reset": "2026-01-01T00:00:09Z",
        "anthropic-ratelimit-input-tokens-remaining": "5000",
        "anthropic-ratelimit-input-tokens-reset": "2026-01-01T00:00:30Z",
      },
      envelope("rate_limit_error"),
      now,
    );
    expect(err).toMatchObject({ kind: "rate_limited", retryAfterMs: 9000, httpStatus: 429, providerCode: "rate_limit_error" });
  });

  it("prefers retry-after", () => {
    const err = classifyHttpError(429, { "retry-after": "4", "anthropic-ratelimit-requests-remaining": "0", "anthropic-ratelimit-requests-reset": "2099-01-01T00:00:00Z" }, envelope("rate_limit_error"));
    expect(err.retryAfterMs).toBe(4000);
  });

  it("classifies from the status alone when the body is not the envelope", () => {
    expect(classifyHttpError(502, {}, "<html>bad gateway</html>")).toMatchObject({ kind: "server_error", httpStatus: 502 });
    expect(classifyHttpError(529, {}, "")).toMatchObject({ kind: "overloaded" });
    expect(classifyHttpError(400, {}, "prompt is too long")).toMatchObject({ kind: "bad_request" }); // only the envelope is read
  });

  it("never carries the provider's message, and only a well-formed error type", () => {
    const err = classifyHttpError(400, {}, JSON.stringify({ type: "error", error: { type: "Injected <sk-ant-xyz>", message: "sk-ant-xyz" } }));
    expect(err.providerCode).toBeUndefined();
    expect(`${err.message} ${String(err.cause)}`).not.toContain("sk-ant-xyz");
  });
});
