import { describe, expect, it } from "vitest";
import { EgressRefusedError } from "../http/egress-connect.js";
import { ProviderError, type ProviderErrorKind } from "../providers/provider-error.js";
import { attemptOutcome, decideFailure, isRetryable } from "./retryable.js";

const err = (kind: ProviderErrorKind) => new ProviderError(kind, kind);
const fresh = { committed: false, deadlineExpired: false, fallbackOnAuth: true, fallbackOnContextLength: true, fallbackOnContentFilter: false };

describe("decideFailure", () => {
  it.each(["rate_limited", "overloaded", "server_error", "timeout", "connection", "stream_error"] as const)("retries and falls back on %s", (kind) => {
    expect(decideFailure(err(kind), fresh)).toMatchObject({ retrySameTarget: true, fallback: true, breaker: "failure" });
  });
  it.each(["bad_request", "content_filter", "not_found"] as const)("neither retries nor falls back on %s", (kind) => {
    expect(decideFailure(err(kind), fresh)).toMatchObject({ retrySameTarget: false, fallback: false, outcome: "rejected", breaker: "success" });
  });
  it("falls back on a context-length refusal without retrying the target, unless configured not to", () => {
    expect(decideFailure(err("context_length"), fresh)).toMatchObject({ retrySameTarget: false, fallback: true, outcome: "rejected", breaker: "success" });
    expect(decideFailure(err("context_length"), { ...fresh, fallbackOnContextLength: false })).toMatchObject({ retrySameTarget: false, fallback: false });
    expect(decideFailure(err("context_length"), { ...fresh, committed: true }).fallback).toBe(false);
  });
  it("falls back on a content-filter refusal only when the route opts in", () => {
    expect(decideFailure(err("content_filter"), { ...fresh, fallbackOnContentFilter: true })).toMatchObject({ retrySameTarget: false, fallback: true, outcome: "rejected", breaker: "success" });
  });
  it("falls back on auth without retrying the target, unless configured not to", () => {
    expect(decideFailure(err("auth"), fresh)).toMatchObject({ retrySameTarget: false, fallback: true, outcome: "auth_error" });
    expect(decideFailure(err("auth"), { ...fresh, fallbackOnAuth: false })).toMatchObject({ retrySameTarget: false, fallback: false });
  });
  it("counts a broken credential against the target's breaker, so a dead credential is skipped", () => {
    expect(decideFailure(err("auth"), fresh).breaker).toBe("failure");
    expect(decideFailure(err("auth"), { ...fresh, fallbackOnAuth: false }).breaker).toBe("failure");
  });
  it("falls back on an egress refusal without retrying the target or blaming it", () => {
    const refused = new ProviderError("connection", "the egress policy refuses its address", { cause: new EgressRefusedError("10.0.0.5 is private") });
    expect(decideFailure(refused, fresh)).toEqual({ retrySameTarget: false, fallback: true, outcome: "connection_error", breaker: "ignore" });
    expect(decideFailure(refused, { ...fresh, committed: true }).fallback).toBe(false);
    expect(isRetryable(refused)).toBe(true);
  });
  it("never retries a cancel, and does not count it against the breaker", () => {
    expect(decideFailure(err("cancelled"), fresh)).toEqual({ retrySameTarget: false, fallback: false, outcome: "cancelled", breaker: "ignore" });
  });
  it("retries nothing once content reached the caller", () => {
    expect(decideFailure(err("stream_error"), { ...fresh, committed: true })).toMatchObject({ retrySameTarget: false, fallback: false, outcome: "stream_error" });
    expect(decideFailure(err("overloaded"), { ...fresh, committed: true })).toMatchObject({ retrySameTarget: false, fallback: false });
  });
  it("retries nothing after the deadline, and does not blame the target for our timeout", () => {
    expect(decideFailure(err("timeout"), { ...fresh, deadlineExpired: true })).toMatchObject({ retrySameTarget: false, fallback: false, breaker: "ignore" });
  });
  it("treats an unclassified throw as an adapter bug: no retry, no fallback", () => {
    expect(decideFailure(new TypeError("x"), fresh)).toMatchObject({ retrySameTarget: false, fallback: false, breaker: "ignore" });
    expect(isRetryable(new TypeError("x"))).toBe(false);
  });
});

describe("attemptOutcome", () => {
  it("maps kinds to the proto's outcome names", () => {
    expect(attemptOutcome(err("rate_limited"))).toBe("rate_limited");
    expect(attemptOutcome(err("overloaded"))).toBe("unavailable");
    expect(attemptOutcome(err("server_error"))).toBe("unavailable");
    expect(attemptOutcome(err("timeout"))).toBe("timeout");
    expect(attemptOutcome(err("connection"))).toBe("connection_error");
    expect(attemptOutcome(err("context_length"))).toBe("rejected");
    expect(attemptOutcome(err("auth"))).toBe("auth_error");
    expect(attemptOutcome(err("cancelled"))).toBe("cancelled");
    expect(attemptOutcome(err("stream_error"))).toBe("stream_error");
  });
});
