import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { attemptsOf } from "./attempt-record.js";
import { chatRequest, dispatcherOver, drain, route, within } from "./testing/harness.js";
import { answer, createScriptedProvider } from "./testing/scripted-provider.js";

// The request's failure is the last attempt's; "every target's circuit breaker is open" (Unavailable,
// with a retry hint) is the answer only when no attempt was sent. An adapter that rejects with no
// value at all (`undefined`) still sent an attempt: that is an internal error, not a breaker shed.
const valueless = () => {
  const base = createScriptedProvider({ kind: "a", script: [answer("unused")] });
  return {
    ...base,
    chat: () => Promise.reject(undefined),
    chatStream: async function* () {
      throw undefined;
    },
  };
};

describe("a provider failure without a value", () => {
  it("fails a unary call as Internal, not as every breaker open", async () => {
    const d = dispatcherOver([valueless()]);
    const err = await d.chat(route([{ provider: "a", model: "m" }], { retry: { maxAttempts: 1 } }), chatRequest(), within(5_000)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.Internal);
    expect((err as ConnectError).rawMessage).toBe("internal error");
    expect(attemptsOf(err)?.map((a) => a.outcome)).toHaveLength(1);
  });

  it("fails a stream as Internal, not as every breaker open", async () => {
    const d = dispatcherOver([valueless()]);
    const { error } = await drain(d.chatStream(route([{ provider: "a", model: "m" }], { retry: { maxAttempts: 1 } }), chatRequest(), within(5_000)).chunks);
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.Internal);
    expect((error as ConnectError).rawMessage).toBe("internal error");
    expect(attemptsOf(error)?.map((a) => a.outcome)).toHaveLength(1);
  });
});
