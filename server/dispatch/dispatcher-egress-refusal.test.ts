import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { AttemptOutcome } from "../../gen/ts/switchboard/v1/common_pb.js";
import { ProviderAttemptsSchema } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { configurationFaultCode } from "../errors/configuration-fault.js";
import { EgressRefusedError } from "../http/egress-connect.js";
import { createEgressPolicy } from "../http/egress-policy.js";
import { ProviderError } from "../providers/provider-error.js";
import { createBreakerRegistry } from "./breaker.js";
import { chatRequest, dispatcherOver, drain, route, within } from "./testing/harness.js";
import { answer, createScriptedProvider, fail, type ScriptStep } from "./testing/scripted-provider.js";

async function rejection(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ConnectError) return e;
    throw e;
  }
  throw new Error("expected a rejection");
}

/** How the shared HTTP client fails a call to a credential's `base_url` the egress policy refuses (`classifyTransportError`). */
function refusedBase(host: string, address: string): ScriptStep {
  const reason = createEgressPolicy({ private: "deny" }).refusal(host, address)!;
  const cause = new EgressRefusedError(reason);
  return { type: "fail", error: new ProviderError("connection", "the connection to the provider failed: the egress policy refuses its address", { cause }) };
}

const twoTargets = route([{ provider: "a", model: "m1" }, { provider: "b", model: "m2", priority: 1 }], { retry: { maxAttempts: 3 } });

describe("a provider endpoint the egress policy refuses", () => {
  it("is not retried (the refusal is deterministic) but falls back to the next target at once, billing nothing", async () => {
    const a = createScriptedProvider({ kind: "a", script: [refusedBase("llm.internal", "10.0.0.5"), answer("from a")] });
    const b = createScriptedProvider({ kind: "b", script: [answer("from b")] });
    const sleeps: number[] = [];
    const d = dispatcherOver([a, b], { sleep: async (ms) => void sleeps.push(ms) });
    const res = await d.chat(twoTargets, chatRequest(), within(5_000));
    expect(res.response.text).toBe("from b");
    expect(a.calls).toHaveLength(1);
    expect(sleeps).toEqual([]); // a fallback, not a retry after backoff
    expect(res.attempts.map((x) => [x.targetIndex, x.outcome])).toEqual([
      [0, "connection_error"],
      [1, "success"],
    ]);
    // The request never left the gateway: nothing to bill, not an estimate of its input.
    expect(res.attempts[0]?.usage).toMatchObject({ inputTokens: 0, outputTokens: 0, estimated: false });
  });

  it("ends the request FailedPrecondition, naming the host and the setting, when every target is refused", async () => {
    const a = createScriptedProvider({ kind: "a", script: [refusedBase("llm.internal", "10.0.0.5")] });
    const b = createScriptedProvider({ kind: "b", script: [refusedBase("gpu-box.lan", "192.168.1.20")] });
    const d = dispatcherOver([a, b]);
    const err = await rejection(d.chat(twoTargets, chatRequest(), within(5_000)));
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(err.rawMessage).toMatch(/^route "test": /);
    expect(err.rawMessage).toContain("gpu-box.lan");
    expect(err.rawMessage).toContain("SWITCHBOARD_EGRESS_PRIVATE");
    expect(err.rawMessage).toContain("SWITCHBOARD_EGRESS_ALLOW");
    // The gateway's configuration, not the request: the OpenAI surface answers 500, not retried.
    expect(configurationFaultCode(err)).toBe("egress_refused");
    expect([a.calls.length, b.calls.length]).toEqual([1, 1]);
    expect(err.findDetails(ProviderAttemptsSchema)[0]?.attempts.map((x) => [x.targetIndex, x.outcome])).toEqual([
      [0, AttemptOutcome.CONNECTION_ERROR],
      [1, AttemptOutcome.CONNECTION_ERROR],
    ]);
  });

  it("stays Unavailable when another target failed otherwise (a retry of the caller may reach it)", async () => {
    const a = createScriptedProvider({ kind: "a", script: [fail("server_error", { httpStatus: 503 })] });
    const b = createScriptedProvider({ kind: "b", script: [refusedBase("llm.internal", "10.0.0.5")] });
    const d = dispatcherOver([a, b]);
    const err = await rejection(d.chat(twoTargets, chatRequest(), within(5_000)));
    expect(err.code).toBe(Code.Unavailable);
    expect(configurationFaultCode(err)).toBeUndefined();
    expect([a.calls.length, b.calls.length]).toEqual([3, 1]);
  });

  it("does not open the target's circuit breaker: every request keeps getting the refusal, not circuit_open", async () => {
    const breakers = createBreakerRegistry({ now: () => 0 });
    const a = createScriptedProvider({ kind: "a", script: [refusedBase("llm.internal", "10.0.0.5")] });
    const d = dispatcherOver([a], { breakers });
    const r = route([{ provider: "a", model: "m" }], { breaker: { volumeThreshold: 1 } });
    for (let i = 0; i < 3; i++) {
      const err = await rejection(d.chat(r, chatRequest(), within(5_000)));
      expect(err.code, `request ${i + 1}`).toBe(Code.FailedPrecondition);
    }
    expect(a.calls).toHaveLength(3);
  });

  it("falls back the same way before a stream's first chunk", async () => {
    const a = createScriptedProvider({ kind: "a", script: [refusedBase("llm.internal", "10.0.0.5")] });
    const b = createScriptedProvider({ kind: "b", script: [refusedBase("llm.internal", "10.0.0.6")] });
    const d = dispatcherOver([a, b]);
    const s = d.chatStream(twoTargets, chatRequest(), within(5_000));
    const { error } = await drain(s.chunks);
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.FailedPrecondition);
    expect([a.calls.length, b.calls.length]).toEqual([1, 1]);
  });
});
