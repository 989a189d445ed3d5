import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { BudgetExceededSchema, GuardrailViolationSchema } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import type { ModelChunk, ModelMessage } from "../providers/model.js";
import { markStreamCut } from "../dispatch/stream-cut.js";
import { ProviderError } from "../providers/provider-error.js";
import { createChatStreamVerb, type ChatStreamEvent } from "./chat-stream-verb.js";
import { createScriptedPipeline, type ScriptedStep } from "./testing/scripted-pipeline.js";
import { testContext } from "./testing/test-context.js";

const MESSAGES: ModelMessage[] = [{ role: "user", content: [{ type: "text", text: "Hi" }] }];
const c = (chunk: ModelChunk) => ({ chunk });
const usage = { inputTokens: 7, outputTokens: 3, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0, estimated: false };

async function run(step: ScriptedStep, opts: { now?: () => number; deadline?: number } = {}) {
  const pipeline = createScriptedPipeline([step]);
  const verb = createChatStreamVerb({ pipeline, ...(opts.now ? { now: opts.now } : {}) });
  const events: ChatStreamEvent[] = [];
  let error: unknown;
  try {
    for await (const e of verb({ messages: MESSAGES }, testContext(opts.deadline === undefined ? {} : { deadline: opts.deadline }))) events.push(e);
  } catch (err) {
    error = err;
  }
  return { events, error, pipeline };
}

const midStreamFailure = (cause: ProviderError) => new ConnectError("route \"test\": the stream from a/m failed after it started: reset", Code.Unavailable, undefined, undefined, cause);

describe("ChatStream", () => {
  it("forwards deltas and ends with completed, carrying the stream's usage and billed cost", async () => {
    const { events } = await run({
      type: "stream",
      costMicrosUsd: 99n,
      provider: "openai",
      events: [
        c({ type: "start", model: "gpt-x", providerRequestId: "prov-1" }),
        c({ type: "text", text: "Hel" }),
        c({ type: "tool_call", index: 0, id: "call_1", name: "lookup", argumentsDelta: '{"q":' }),
        c({ type: "text", text: "lo" }),
        c({ type: "finish", reason: "stop" }),
        c({ type: "usage", usage }),
      ],
    });
    expect(events.map((e) => e.type)).toEqual(["started", "text", "tool_call", "text", "completed"]);
    expect(events[0]).toEqual({ type: "started", requestId: "req-1", model: "gpt-x", providerRequestId: "prov-1", provider: "", cacheStatus: "bypass" });
    expect(events[2]).toEqual({ type: "tool_call", index: 0, id: "call_1", name: "lookup", argumentsDelta: '{"q":' });
    const done = events.at(-1);
    expect(done?.type === "completed" && [done.finishReason, done.usage.tokens, done.usage.costMicrosUsd, done.usage.provider, done.usage.modelCalls]).toEqual([
      "stop",
      usage,
      99n,
      "openai",
      1,
    ]);
  });

  it("maps a failure after content to upstream_error with the usage the error carries", async () => {
    const partial = { ...usage, outputTokens: 1, estimated: true };
    const { events, error } = await run({
      type: "stream",
      events: [c({ type: "start", model: "m" }), c({ type: "text", text: "Hel" }), { throw: midStreamFailure(new ProviderError("connection", "reset", { usage: partial })) }],
    });
    expect(error).toBeUndefined();
    expect(events.map((e) => e.type)).toEqual(["started", "text", "upstream_error"]);
    const end = events.at(-1);
    expect(end?.type === "upstream_error" && [end.code, end.message, end.usage.tokens]).toEqual([
      "unavailable",
      'route "test": the stream from a/m failed after it started: reset',
      partial,
    ]);
  });

  it("rethrows a failure before any content: no event is sent and the RPC fails normally", async () => {
    const failure = new ConnectError("no target answered", Code.Unavailable);
    const { events, error } = await run({ type: "stream", events: [c({ type: "start", model: "m" }), { throw: failure }] });
    expect(events).toEqual([]);
    expect(error).toBe(failure);
    const early = await run({ type: "fail", error: failure });
    expect(early.events).toEqual([]);
    expect(early.error).toBe(failure);
  });

  it("maps a failure once the deadline has passed to truncated", async () => {
    const { events } = await run(
      { type: "stream", events: [c({ type: "text", text: "a" }), { throw: midStreamFailure(new ProviderError("timeout", "deadline")) }] },
      { deadline: 1_000, now: () => 2_000 },
    );
    expect(events.at(-1)).toMatchObject({ type: "truncated", reason: "deadline" });
  });

  it("maps a stream dispatch cut for idleness to truncated (idle_timeout), billed as the error reports", async () => {
    const partial = { ...usage, outputTokens: 1, estimated: true };
    const cut = markStreamCut(midStreamFailure(new ProviderError("timeout", "the target's stream was idle for 50 ms", { usage: partial })), "idle_timeout");
    const { events, error } = await run({ type: "stream", events: [c({ type: "text", text: "a" }), { throw: cut }] });
    expect(error).toBeUndefined();
    expect(events.map((e) => e.type)).toEqual(["started", "text", "truncated"]);
    const end = events.at(-1);
    expect(end?.type === "truncated" && [end.reason, end.usage.tokens]).toEqual(["idle_timeout", partial]);
  });

  it("maps a stream dispatch cut at its deadline (the route's timeout) to truncated (deadline) before the caller's deadline", async () => {
    const cut = markStreamCut(midStreamFailure(new ProviderError("timeout", "the request deadline passed")), "deadline");
    const { events } = await run({ type: "stream", events: [c({ type: "text", text: "a" }), { throw: cut }] }, { deadline: 1_000_000, now: () => 2_000 });
    expect(events.at(-1)).toMatchObject({ type: "truncated", reason: "deadline" });
  });

  it("treats the deadline as passed from the instant it is reached", async () => {
    const { events } = await run(
      { type: "stream", events: [c({ type: "text", text: "a" }), { throw: midStreamFailure(new ProviderError("timeout", "deadline")) }] },
      { deadline: 1_000, now: () => 1_000 },
    );
    expect(events.map((e) => e.type)).toEqual(["started", "text", "truncated"]);
  });

  it("rethrows a failure after content when the caller is gone (nobody reads a terminal event)", async () => {
    const gone = new AbortController();
    gone.abort();
    const failure = midStreamFailure(new ProviderError("connection", "reset"));
    const pipeline = createScriptedPipeline([{ type: "stream", events: [c({ type: "text", text: "a" }), { throw: failure }] }]);
    const events: ChatStreamEvent[] = [];
    const error = await (async () => {
      for await (const e of createChatStreamVerb({ pipeline })({ messages: MESSAGES }, testContext({ signal: gone.signal }))) events.push(e);
    })().catch((e: unknown) => e);
    expect(error).toBe(failure);
    expect(events.map((e) => e.type)).toEqual(["started", "text"]);
  });

  it("maps a budget refusal after content to budget_exhausted with its detail", async () => {
    const budget = create(BudgetExceededSchema, { budget: "orgs/acme/budgets/monthly", limitMicrosUsd: 5n });
    const err = new ConnectError("budget exhausted", Code.ResourceExhausted, undefined, [{ desc: BudgetExceededSchema, value: budget }]);
    const { events } = await run({ type: "stream", events: [c({ type: "text", text: "a" }), { throw: err }] });
    const end = events.at(-1);
    expect(end?.type).toBe("budget_exhausted");
    expect(end?.type === "budget_exhausted" && end.budget?.budget).toBe("orgs/acme/budgets/monthly");
  });

  it("reports the provider and cache status the stream's start names", async () => {
    const { events } = await run({
      type: "stream",
      events: [c({ type: "start", model: "m", provider: "anthropic", cacheStatus: "hit_semantic" }), c({ type: "text", text: "cached" }), c({ type: "finish", reason: "stop" })],
    });
    expect(events[0]).toEqual({ type: "started", requestId: "req-1", model: "m", provider: "anthropic", cacheStatus: "hit_semantic" });
  });

  it("maps an output guardrail's refusal after content to truncated with the violation", async () => {
    const violation = create(GuardrailViolationSchema, { policy: "orgs/acme/guardrails/pii", rule: "email" });
    const err = new ConnectError("blocked by guardrail", Code.PermissionDenied, undefined, [{ desc: GuardrailViolationSchema, value: violation }]);
    const { events } = await run({ type: "stream", events: [c({ type: "text", text: "mail me at" }), { throw: err }] });
    const end = events.at(-1);
    expect(end).toMatchObject({ type: "truncated", reason: "guardrail" });
    expect(end?.type === "truncated" && [end.guardrail?.policy, end.guardrail?.rule]).toEqual(["orgs/acme/guardrails/pii", "email"]);
    // Without the detail, a permission refusal is an upstream error like any other.
    const bare = await run({ type: "stream", events: [c({ type: "text", text: "a" }), { throw: new ConnectError("denied", Code.PermissionDenied) }] });
    expect(bare.events.at(-1)).toMatchObject({ type: "upstream_error", code: "permission_denied", message: "denied" });
  });

  it("maps a bare provider failure after content to the canonical code of its kind", async () => {
    const { events } = await run({ type: "stream", events: [c({ type: "text", text: "a" }), { throw: new ProviderError("timeout", "upstream timed out") }] });
    expect(events.at(-1)).toMatchObject({ type: "upstream_error", code: "deadline_exceeded", message: "upstream timed out" });
  });

  it("never leaks an unknown error's message", async () => {
    const { events } = await run({ type: "stream", events: [c({ type: "text", text: "a" }), { throw: new Error("secret sk-123") }] });
    expect(events.at(-1)).toMatchObject({ type: "upstream_error", code: "internal", message: "internal error" });
  });

  it("sends started and completed for an empty answer", async () => {
    const { events } = await run({ type: "stream", events: [c({ type: "finish", reason: "length" }), c({ type: "usage", usage })] });
    expect(events.map((e) => e.type)).toEqual(["started", "completed"]);
  });

  it("cancels the model stream when the consumer stops early", async () => {
    let closed = false;
    const pipeline = createScriptedPipeline([]);
    pipeline.chatStream = () => ({
      chunks: (async function* () {
        try {
          yield { type: "text", text: "a" } as ModelChunk;
          yield { type: "text", text: "b" } as ModelChunk;
        } finally {
          closed = true;
        }
      })(),
      result: async () => ({ provider: "p", model: "m", attempts: [], costMicrosUsd: 0n, cacheStatus: "miss" }),
    });
    for await (const e of createChatStreamVerb({ pipeline })({ messages: MESSAGES }, testContext())) {
      if (e.type === "text") break;
    }
    expect(closed).toBe(true);
  });
});
