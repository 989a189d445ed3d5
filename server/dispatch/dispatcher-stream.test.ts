import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { emptyUsage, type ModelChunk } from "../providers/model.js";
import { ProviderError } from "../providers/provider-error.js";
import { ProviderAttemptsSchema } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { streamCutOf } from "./stream-cut.js";
import { chatRequest, dispatcherOver, drain, route, within } from "./testing/harness.js";
import { createScriptedProvider, fail, textStream, type ScriptedProvider, type StreamEvent } from "./testing/scripted-provider.js";

const text = (chunks: ModelChunk[]): string => chunks.map((c) => (c.type === "text" ? c.text : "")).join("");
const types = (chunks: ModelChunk[]): string[] => chunks.map((c) => c.type);
const asConnect = (e: unknown): ConnectError => {
  expect(e).toBeInstanceOf(ConnectError);
  return e as ConnectError;
};
const twoTargets = (a: object = {}, rest: Parameters<typeof route>[1] = {}) =>
  route([{ provider: "a", model: "ma", ...a }, { provider: "b", model: "mb", priority: 1 }], { retry: { maxAttempts: 1 }, ...rest });

describe("P13: stream liveness timeouts", () => {
  it("falls back when the first token is late, and the caller sees only the fallback's answer", async () => {
    const a = createScriptedProvider({ kind: "a", script: [textStream(["late"], { firstDelayMs: 300, model: "ma" })] });
    const b = createScriptedProvider({ kind: "b", script: [textStream(["Hello", " world"], { model: "mb" })] });
    const d = dispatcherOver([a, b]);
    const s = d.chatStream(twoTargets({ firstTokenTimeoutMs: 50 }), chatRequest(), within(5_000));
    const { items, error } = await drain(s.chunks);
    expect(error).toBeUndefined();
    expect(types(items)).toEqual(["start", "text", "text", "finish", "usage"]);
    expect(items[0]).toEqual({ type: "start", model: "mb", provider: "b" });
    expect(text(items)).toBe("Hello world");
    expect(a.calls[0]?.aborted).toBe(true);
    expect(s.attempts().map((x) => [x.outcome, x.error])).toEqual([
      ["timeout", "the target sent no first token within 50 ms"],
      ["success", undefined],
    ]);
    expect(s.attempts()[1]?.timeToFirstTokenMs).toBeGreaterThanOrEqual(0);
  });

  it("falls back when a stream goes idle before its first content", async () => {
    const stall: StreamEvent[] = [{ chunk: { type: "start", model: "ma" } }, { hang: true }];
    const a = createScriptedProvider({ kind: "a", script: [{ type: "stream", events: stall }] });
    const b = createScriptedProvider({ kind: "b", script: [textStream(["ok"], { model: "mb" })] });
    const d = dispatcherOver([a, b]);
    const s = d.chatStream(twoTargets({ idleTimeoutMs: 40, firstTokenTimeoutMs: 5_000 }), chatRequest(), within(5_000));
    const { items, error } = await drain(s.chunks);
    expect(error).toBeUndefined();
    expect(items.filter((c) => c.type === "start")).toEqual([{ type: "start", model: "mb", provider: "b" }]);
    expect(s.attempts().map((x) => x.error ?? x.outcome)).toEqual(["the target's stream was idle for 40 ms", "success"]);
  });

  it("does not cut a slow stream that stays within the thresholds", async () => {
    const parts = ["a", "b", "c", "d", "e", "f"];
    const a = createScriptedProvider({ kind: "a", script: [textStream(parts, { firstDelayMs: 30, gapMs: 20 })] });
    const b = createScriptedProvider({ kind: "b", script: [textStream(["never"])] });
    const d = dispatcherOver([a, b]);
    const s = d.chatStream(twoTargets({ firstTokenTimeoutMs: 150, idleTimeoutMs: 100 }), chatRequest(), within(5_000));
    const { items, error } = await drain(s.chunks);
    expect(error).toBeUndefined();
    expect(text(items)).toBe("abcdef");
    expect(b.calls).toHaveLength(0);
    expect(s.attempts().map((x) => x.outcome)).toEqual(["success"]);
  });

  it("records the time to the first content from the attempt's start", async () => {
    const a = createScriptedProvider({ kind: "a", script: [textStream(["late"], { firstDelayMs: 60 })] });
    const d = dispatcherOver([a]);
    const s = d.chatStream(route([{ provider: "a", model: "m" }]), chatRequest(), within(5_000));
    const { error } = await drain(s.chunks);
    expect(error).toBeUndefined();
    const [attempt] = s.attempts();
    expect(attempt?.timeToFirstTokenMs).toBeGreaterThanOrEqual(50);
    expect(attempt?.timeToFirstTokenMs).toBeLessThanOrEqual(attempt?.latencyMs ?? 0);
  });

  it("tells an adapter that ignores the abort to release its stream when the first token is late", async () => {
    let returned = 0;
    const silent = createScriptedProvider({ kind: "a", script: [textStream(["never"])] });
    const a: ScriptedProvider = {
      kind: "a",
      calls: [],
      capabilities: silent.capabilities,
      chat: silent.chat.bind(silent),
      chatStream: (): AsyncIterable<ModelChunk> => ({
        [Symbol.asyncIterator]: () => ({
          next: () => new Promise<IteratorResult<ModelChunk>>(() => {}),
          return: async () => {
            returned++;
            return { done: true as const, value: undefined };
          },
        }),
      }),
    };
    const b = createScriptedProvider({ kind: "b", script: [textStream(["ok"], { model: "mb" })] });
    const d = dispatcherOver([a, b]);
    const s = d.chatStream(twoTargets({ firstTokenTimeoutMs: 30 }), chatRequest(), within(5_000));
    const { items, error } = await drain(s.chunks);
    expect(error).toBeUndefined();
    expect(text(items)).toBe("ok");
    expect(returned).toBe(1);
  });

  it("does not count a slow consumer as an idle provider", async () => {
    const a = createScriptedProvider({ kind: "a", script: [textStream(["a", "b", "c"])] });
    const d = dispatcherOver([a]);
    const s = d.chatStream(route([{ provider: "a", model: "m", idleTimeoutMs: 20 }]), chatRequest(), within(5_000));
    const got: ModelChunk[] = [];
    for await (const c of s.chunks) {
      got.push(c);
      await new Promise((r) => setTimeout(r, 40));
    }
    expect(text(got)).toBe("abc");
  });

  it("ends a stream that stalls after content with an explicit error", async () => {
    const events: StreamEvent[] = [{ chunk: { type: "start", model: "ma" } }, { chunk: { type: "text", text: "Hel" } }, { hang: true }];
    const a = createScriptedProvider({ kind: "a", script: [{ type: "stream", events }] });
    const b = createScriptedProvider({ kind: "b", script: [textStream(["never"])] });
    const d = dispatcherOver([a, b]);
    const started = Date.now();
    const s = d.chatStream(twoTargets({ idleTimeoutMs: 50 }), chatRequest(), within(5_000));
    const { items, error } = await drain(s.chunks);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(text(items)).toBe("Hel");
    expect(asConnect(error).code).toBe(Code.DeadlineExceeded);
    expect(b.calls).toHaveLength(0);
    // The gateway cut it (ChatStream: `truncated`, reason IDLE_TIMEOUT), not the provider.
    expect(streamCutOf(error)).toBe("idle_timeout");
    expect(asConnect(error).rawMessage).toBe('route "test": the gateway cut the stream from a/ma after it started: the target\'s stream was idle for 50 ms');
  });

  it("marks a stream the route's timeout cuts after content as cut at the deadline, though the caller's is far", async () => {
    const events: StreamEvent[] = [{ chunk: { type: "start", model: "ma" } }, { chunk: { type: "text", text: "Hel" } }, { hang: true }];
    const a = createScriptedProvider({ kind: "a", script: [{ type: "stream", events }] });
    const b = createScriptedProvider({ kind: "b", script: [textStream(["never"])] });
    const d = dispatcherOver([a, b]);
    const s = d.chatStream(twoTargets({ idleTimeoutMs: 5_000 }, { timeoutMs: 80 }), chatRequest(), within(60_000));
    const { items, error } = await drain(s.chunks);
    expect(text(items)).toBe("Hel");
    expect(asConnect(error).code).toBe(Code.DeadlineExceeded);
    expect(streamCutOf(error)).toBe("deadline");
    // The target did answer: not "before a target answered".
    expect(asConnect(error).rawMessage).toBe('route "test": the gateway cut the stream from a/ma after it started: the request deadline passed');
    expect(b.calls).toHaveLength(0);
    expect(s.attempts().map((x) => x.outcome)).toEqual(["timeout"]);
  });

  it("does not mark a stall before the first content: it falls back as before", async () => {
    const stall: StreamEvent[] = [{ chunk: { type: "start", model: "ma" } }, { hang: true }];
    const a = createScriptedProvider({ kind: "a", script: [{ type: "stream", events: stall }] });
    const d = dispatcherOver([a]);
    const { items, error } = await drain(d.chatStream(route([{ provider: "a", model: "ma", idleTimeoutMs: 40, firstTokenTimeoutMs: 5_000 }], { retry: { maxAttempts: 1 } }), chatRequest(), within(5_000)).chunks);
    expect(items).toEqual([]);
    expect(asConnect(error).code).toBe(Code.DeadlineExceeded);
    expect(streamCutOf(error)).toBeUndefined();
  });
});

describe("P14: mid-stream failures are never spliced and never look successful", () => {
  const cutAfter = (n: number, chunk: (i: number) => ModelChunk): StreamEvent[] => [
    { chunk: { type: "start", model: "ma" } },
    ...Array.from({ length: n }, (_, i) => ({ chunk: chunk(i) })),
    { fail: new ProviderError("stream_error", "the stream was cut") },
  ];

  it("throws after content and appends nothing from the fallback", async () => {
    const a = createScriptedProvider({ kind: "a", script: [{ type: "stream", events: cutAfter(40, (i) => ({ type: "text", text: `a${i} ` })) }] });
    const b = createScriptedProvider({ kind: "b", script: [textStream(["B's answer"])] });
    const d = dispatcherOver([a, b]);
    const s = d.chatStream(twoTargets(), chatRequest(), within(5_000));
    const { items, error } = await drain(s.chunks);
    const err = asConnect(error);
    expect(err.code).toBe(Code.Unavailable);
    expect(err.rawMessage).toContain("failed after it started");
    expect(text(items)).toBe(Array.from({ length: 40 }, (_, i) => `a${i} `).join(""));
    expect(items.some((c) => c.type === "finish")).toBe(false);
    expect(b.calls).toHaveLength(0);
    expect(err.findDetails(ProviderAttemptsSchema)[0]?.attempts).toHaveLength(1);
    expect(s.attempts()[0]).toMatchObject({ outcome: "stream_error", usage: { estimated: true } });
  });

  it("never splices tool-call argument deltas either", async () => {
    const a = createScriptedProvider({
      kind: "a",
      script: [{ type: "stream", events: cutAfter(2, (i) => ({ type: "tool_call", index: 0, ...(i === 0 ? { id: "c1", name: "f" } : {}), argumentsDelta: `{"x":${i}` })) }],
    });
    const b = createScriptedProvider({ kind: "b", script: [textStream(["B"])] });
    const d = dispatcherOver([a, b]);
    const { items, error } = await drain(d.chatStream(twoTargets(), chatRequest(), within(5_000)).chunks);
    expect(asConnect(error).code).toBe(Code.Unavailable);
    expect(types(items)).toEqual(["start", "tool_call", "tool_call"]);
    expect(b.calls).toHaveLength(0);
  });

  it("fails over transparently before the first content: one start, exactly the fallback's answer", async () => {
    const a = createScriptedProvider({ kind: "a", script: [{ type: "stream", events: cutAfter(0, () => ({ type: "text", text: "" })) }] });
    const b = createScriptedProvider({ kind: "b", script: [textStream(["B's", " answer"], { model: "mb" })] });
    const d = dispatcherOver([a, b]);
    const { items, error } = await drain(d.chatStream(twoTargets(), chatRequest(), within(5_000)).chunks);
    expect(error).toBeUndefined();
    expect(items).toEqual([
      { type: "start", model: "mb", provider: "b" },
      { type: "text", text: "B's" },
      { type: "text", text: " answer" },
      { type: "finish", reason: "stop" },
      expect.objectContaining({ type: "usage" }),
    ]);
  });

  it("treats a stream that ends without its finish as an error, never a clean end", async () => {
    const events: StreamEvent[] = [{ chunk: { type: "text", text: "trunc" } }];
    const a = createScriptedProvider({ kind: "a", script: [{ type: "stream", events }] });
    const d = dispatcherOver([a]);
    const { items, error } = await drain(d.chatStream(route([{ provider: "a", model: "m" }]), chatRequest(), within(5_000)).chunks);
    expect(text(items)).toBe("trunc");
    expect(asConnect(error).code).toBe(Code.Unavailable);
  });

  it("adds an estimated usage when a complete stream reported none", async () => {
    const events: StreamEvent[] = [{ chunk: { type: "text", text: "12345678" } }, { chunk: { type: "finish", reason: "stop" } }];
    const a = createScriptedProvider({ kind: "a", script: [{ type: "stream", events }] });
    const d = dispatcherOver([a]);
    const s = d.chatStream(route([{ provider: "a", model: "m" }]), chatRequest(), within(5_000));
    const { items, error } = await drain(s.chunks);
    expect(error).toBeUndefined();
    expect(items.at(-1)).toEqual({ type: "usage", usage: expect.objectContaining({ outputTokens: 2, estimated: true }) });
    expect(s.attempts()[0]?.usage.estimated).toBe(true);
  });

  it("retries a stream that fails before content, and never after", async () => {
    const a = createScriptedProvider({ kind: "a", script: [fail("overloaded", { httpStatus: 529 }), textStream(["second try"])] });
    const d = dispatcherOver([a]);
    const s = d.chatStream(route([{ provider: "a", model: "m" }]), chatRequest(), within(5_000));
    const { items, error } = await drain(s.chunks);
    expect(error).toBeUndefined();
    expect(text(items)).toBe("second try");
    expect(s.attempts().map((x) => x.outcome)).toEqual(["unavailable", "success"]);
  });

  it("waits the retry-after of a 429 before retrying a stream on the same target", async () => {
    const a = createScriptedProvider({ kind: "a", script: [fail("rate_limited", { httpStatus: 429, retryAfterMs: 30 }), textStream(["second try"])] });
    const sleeps: number[] = [];
    const d = dispatcherOver([a], { sleep: async (ms) => void sleeps.push(ms) });
    const s = d.chatStream(route([{ provider: "a", model: "m" }]), chatRequest(), within(5_000));
    const { items, error } = await drain(s.chunks);
    expect(error).toBeUndefined();
    expect(text(items)).toBe("second try");
    expect(sleeps).toHaveLength(1);
    expect(sleeps[0]).toBeGreaterThanOrEqual(30);
  });

  it("hands over a complete stream without content (an empty answer) whole: start, finish and usage", async () => {
    const events: StreamEvent[] = [
      { chunk: { type: "start", model: "ma" } },
      { chunk: { type: "finish", reason: "stop" } },
      { chunk: { type: "usage", usage: { ...emptyUsage(), inputTokens: 4 } } },
    ];
    const a = createScriptedProvider({ kind: "a", script: [{ type: "stream", events }] });
    const d = dispatcherOver([a]);
    const s = d.chatStream(route([{ provider: "a", model: "m" }]), chatRequest(), within(5_000));
    const { items, error } = await drain(s.chunks);
    expect(error).toBeUndefined();
    expect(types(items)).toEqual(["start", "finish", "usage"]);
    expect(items[0]).toEqual({ type: "start", model: "ma", provider: "a" });
    expect(s.attempts().map((x) => x.outcome)).toEqual(["success"]);
  });

  it("refuses a target without streaming before sending anything", () => {
    const a = createScriptedProvider({ kind: "a", capabilities: { streaming: false }, script: [textStream(["x"])] });
    const d = dispatcherOver([a]);
    expect(() => d.chatStream(route([{ provider: "a", model: "m" }]), chatRequest(), within(5_000))).toThrow(
      expect.objectContaining({ code: Code.FailedPrecondition }),
    );
  });
});
