import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ProviderAttemptsSchema } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { AttemptOutcome } from "../../gen/ts/switchboard/v1/common_pb.js";
import { chatRequest, dispatcherOver, drain, route, within } from "./testing/harness.js";
import { answer, createScriptedProvider, fail, textStream } from "./testing/scripted-provider.js";
import type { RouteInput } from "./route-types.js";

async function rejection(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ConnectError) return e;
    throw e;
  }
  throw new Error("expected a rejection");
}

// The small-window target first, the bigger-window one as the route's fallback; no declared
// windows, so the chars/4 pre-check lets the prompt through to the provider, which refuses it.
const twoTargets = (rest: Omit<RouteInput, "alias" | "targets"> = {}) =>
  route([{ provider: "a", model: "small" }, { provider: "b", model: "big", priority: 1 }], { ...rest, retry: { maxAttempts: 3, ...rest.retry } });

describe("a provider's context-length refusal falls back to a bigger-window target", () => {
  it("moves on to the next target without retrying the one that refused (unary)", async () => {
    const a = createScriptedProvider({ kind: "a", script: [fail("context_length", { httpStatus: 400 })] });
    const b = createScriptedProvider({ kind: "b", script: [answer("from b")] });
    const d = dispatcherOver([a, b]);
    const res = await d.chat(twoTargets(), chatRequest(), within(5_000));
    expect(res.response.text).toBe("from b");
    expect(a.calls).toHaveLength(1);
    expect(res.attempts.map((x) => [x.targetIndex, x.outcome, x.httpStatus])).toEqual([
      [0, "rejected", 400],
      [1, "success", undefined],
    ]);
    // The refused attempt is an attempt row like any other; a 400 before generating bills nothing.
    expect(res.attempts[0]?.usage).toMatchObject({ inputTokens: 0, outputTokens: 0, estimated: false });
  });

  it("moves on to the next target before the first token (stream)", async () => {
    const a = createScriptedProvider({ kind: "a", script: [fail("context_length", { httpStatus: 400 })] });
    const b = createScriptedProvider({ kind: "b", script: [textStream(["Hello"], { model: "big" })] });
    const d = dispatcherOver([a, b]);
    const s = d.chatStream(twoTargets(), chatRequest(), within(5_000));
    const { items, error } = await drain(s.chunks);
    expect(error).toBeUndefined();
    expect(items[0]).toEqual({ type: "start", model: "big", provider: "b" });
    expect(a.calls).toHaveLength(1);
    expect(s.attempts().map((x) => x.outcome)).toEqual(["rejected", "success"]);
  });

  it("stops at the refusal when the route turns the fallback off", async () => {
    const a = createScriptedProvider({ kind: "a", script: [fail("context_length", { httpStatus: 400 })] });
    const b = createScriptedProvider({ kind: "b", script: [answer("from b")] });
    const d = dispatcherOver([a, b]);
    const err = await rejection(d.chat(twoTargets({ retry: { fallbackOnContextLength: false } }), chatRequest(), within(5_000)));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(a.calls).toHaveLength(1);
    expect(b.calls).toHaveLength(0);
  });

  it("reports InvalidArgument naming the prompt as too long for every target when all refuse", async () => {
    const a = createScriptedProvider({ kind: "a", script: [fail("context_length", { httpStatus: 400 })] });
    const b = createScriptedProvider({ kind: "b", script: [fail("context_length", { httpStatus: 400 })] });
    const d = dispatcherOver([a, b]);
    const err = await rejection(d.chat(twoTargets(), chatRequest(), within(5_000)));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toMatch(/prompt is too long for the context window of every target/);
    expect(a.calls).toHaveLength(1);
    expect(b.calls).toHaveLength(1);
    expect(err.findDetails(ProviderAttemptsSchema)[0]?.attempts.map((x) => [x.targetIndex, x.outcome])).toEqual([
      [0, AttemptOutcome.REJECTED],
      [1, AttemptOutcome.REJECTED],
    ]);
  });

  it("does not call the prompt too long for every target when another target failed otherwise", async () => {
    const a = createScriptedProvider({ kind: "a", script: [fail("server_error", { httpStatus: 503 })] });
    const b = createScriptedProvider({ kind: "b", script: [fail("context_length", { httpStatus: 400 })] });
    const d = dispatcherOver([a, b]);
    const err = await rejection(d.chat(twoTargets({ retry: { maxAttempts: 1 } }), chatRequest(), within(5_000)));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).not.toMatch(/every target/);
  });
});

describe("a content-filter refusal falls back only when the route opts in", () => {
  it("stops at the refusal by default", async () => {
    const a = createScriptedProvider({ kind: "a", script: [fail("content_filter", { httpStatus: 400 })] });
    const b = createScriptedProvider({ kind: "b", script: [answer("from b")] });
    const d = dispatcherOver([a, b]);
    const err = await rejection(d.chat(twoTargets(), chatRequest(), within(5_000)));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(b.calls).toHaveLength(0);
  });

  it("moves on to the next target, without a retry, when fallbackOnContentFilter is set", async () => {
    const a = createScriptedProvider({ kind: "a", script: [fail("content_filter", { httpStatus: 400 })] });
    const b = createScriptedProvider({ kind: "b", script: [answer("from b")] });
    const d = dispatcherOver([a, b]);
    const res = await d.chat(twoTargets({ retry: { fallbackOnContentFilter: true } }), chatRequest(), within(5_000));
    expect(res.response.text).toBe("from b");
    expect(a.calls).toHaveLength(1);
    expect(res.attempts.map((x) => x.outcome)).toEqual(["rejected", "success"]);
  });
});
