import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { AttemptSchema } from "../../gen/ts/switchboard/v1/common_pb.js";
import { ProviderAttemptsSchema } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { ProviderError, type ProviderErrorKind } from "../providers/provider-error.js";
import { connectCodeOf, providerErrorToConnect } from "./provider-error-to-connect.js";

describe("connectCodeOf", () => {
  it.each<[ProviderErrorKind, Code]>([
    ["rate_limited", Code.Unavailable],
    ["overloaded", Code.Unavailable],
    ["server_error", Code.Unavailable],
    ["connection", Code.Unavailable],
    ["stream_error", Code.Unavailable],
    ["timeout", Code.DeadlineExceeded],
    ["bad_request", Code.InvalidArgument],
    ["context_length", Code.InvalidArgument],
    ["content_filter", Code.InvalidArgument],
    ["auth", Code.Internal],
    ["not_found", Code.Internal],
    ["cancelled", Code.Canceled],
  ])("%s → %s", (kind, code) => {
    expect(connectCodeOf(kind)).toBe(code);
  });
});

describe("providerErrorToConnect", () => {
  const attempts = [create(AttemptSchema, { index: 1, provider: "openai", model: "m", error: "scripted" })];
  it("keeps the caller-safe message and attaches every attempt", () => {
    const err = providerErrorToConnect(new ProviderError("overloaded", "the provider is overloaded"), { route: "fast", attempts });
    expect(err.code).toBe(Code.Unavailable);
    expect(err.rawMessage).toBe("the provider is overloaded");
    const [detail] = err.findDetails(ProviderAttemptsSchema);
    expect(detail?.route).toBe("fast");
    expect(detail?.attempts.map((a) => a.index)).toEqual([1]);
  });
  it("turns an unclassified throw into Internal without its message", () => {
    const err = providerErrorToConnect(new Error("secret body sk-123"), { route: "fast", attempts, message: "ignored" });
    expect(err.code).toBe(Code.Internal);
    expect(err.rawMessage).toBe("internal error");
    expect(err.cause).toBeInstanceOf(Error);
  });
});
