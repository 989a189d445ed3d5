import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import type { ModelStream } from "../pipeline/model-call.js";
import { emptyUsage } from "../providers/model.js";
import { writeChatCompletionStream } from "./chat-stream.js";
import type { HttpResponse } from "./http-io.js";
import { modelStream, recorder } from "./stream-recorder.testing.js";

const frames = (body: string) => body.split("\n\n").filter((f) => f !== "").map((f) => (f === "data: [DONE]" ? "[DONE]" : JSON.parse(f.slice(6))));
const usage = { ...emptyUsage(), inputTokens: 3, outputTokens: 2 };
const write = (res: HttpResponse, stream: ModelStream, includeUsage = true) =>
  writeChatCompletionStream({ res, stream, route: "fast", includeUsage, headers: { "x-request-id": "r" }, now: () => 1_700_000_000_000, onUnexpected: () => {} });

describe("writeChatCompletionStream", () => {
  it("writes role, content, finish and usage chunks, then [DONE], with the usage extras as trailers", async () => {
    const { res, out } = recorder();
    const { stream } = modelStream([
      { type: "start", model: "gpt-x" },
      { type: "text", text: "Hel" },
      { type: "text", text: "lo" },
      { type: "finish", reason: "stop" },
      { type: "usage", usage },
    ]);
    const before = performance.now();
    const end = await write(res, stream);
    // How it ended, with what the access-log line reports: the first content's time and the usage chunk's tokens.
    expect(end).toEqual({ kind: "completed", firstTokenAt: expect.any(Number), tokens: usage });
    expect(end.firstTokenAt).toBeGreaterThanOrEqual(before);
    expect(out.status).toBe(200);
    expect(out.headers).toMatchObject({ "content-type": "text/event-stream; charset=utf-8", "x-request-id": "r" });
    const f = frames(out.body);
    expect(f.at(-1)).toBe("[DONE]");
    expect(f[0]).toMatchObject({ object: "chat.completion.chunk", created: 1_700_000_000, model: "gpt-x", usage: null, choices: [{ index: 0, delta: { role: "assistant", content: "Hel" }, finish_reason: null }] });
    expect(f[1].choices[0].delta).toEqual({ content: "lo" });
    expect(f[2].choices[0]).toMatchObject({ delta: {}, finish_reason: "stop" });
    expect(f[3]).toMatchObject({ choices: [], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } });
    expect(out.trailers).toEqual({ "x-switchboard-cost-micros-usd": "42", "x-switchboard-provider": "openai", "x-switchboard-attempts": "0", "x-switchboard-cache": "miss" });
    expect(out.ended).toBe(true);
  });

  it("writes tool calls as indexed deltas whose first piece names the call", async () => {
    const { res, out } = recorder();
    const { stream } = modelStream([
      { type: "tool_call", index: 0, id: "c1", name: "f", argumentsDelta: '{"a"' },
      { type: "tool_call", index: 0, argumentsDelta: ":1}" },
      { type: "finish", reason: "unknown" },
    ]);
    expect((await write(res, stream, false)).firstTokenAt).toEqual(expect.any(Number)); // a tool call is content too
    const f = frames(out.body);
    expect(f[0].choices[0].delta).toEqual({ role: "assistant", content: null, refusal: null, tool_calls: [{ index: 0, id: "c1", type: "function", function: { name: "f", arguments: '{"a"' } }] });
    expect(f[1].choices[0].delta).toEqual({ tool_calls: [{ index: 0, function: { arguments: ":1}" } }] });
    expect(f[2].choices[0].finish_reason).toBe("tool_calls");
    expect(f[0]).not.toHaveProperty("usage");
  });

  it("rethrows a failure before any content and writes nothing", async () => {
    const { res, out } = recorder();
    const failure = new ConnectError("all targets failed", Code.Unavailable);
    await expect(write(res, modelStream([{ type: "start", model: "m" }], failure).stream)).rejects.toBe(failure);
    expect(out.status).toBe(0);
    expect(out.body).toBe("");
  });

  it("ends a failure after content with one error event and no [DONE]", async () => {
    const { res, out } = recorder();
    const failure = new ConnectError("provider cut the stream", Code.Unavailable);
    const end = await write(res, modelStream([{ type: "text", text: "partial" }], failure).stream);
    expect(end).toEqual({ kind: "failed_mid_stream", error: failure, firstTokenAt: expect.any(Number) });
    const f = frames(out.body);
    expect(f.at(-1)).toEqual({ error: { message: "provider cut the stream", type: "server_error", param: null, code: "unavailable" } });
    expect(out.body).not.toContain("[DONE]");
    expect(out.ended).toBe(true);
  });

  it("stops and cancels the model stream when the caller goes away", async () => {
    const { res } = recorder({ goneAfterWrites: 1 });
    const { stream, state } = modelStream([
      { type: "text", text: "a" },
      { type: "text", text: "b" },
      { type: "text", text: "c" },
    ]);
    expect(await write(res, stream)).toEqual({ kind: "caller_gone", firstTokenAt: expect.any(Number) });
    expect(state.cancelled).toBe(true);
  });
});

describe("writeChatCompletionStream, the edges", () => {
  const attempt = (usage: ReturnType<typeof emptyUsage>) => ({ index: 1, targetIndex: 0, provider: "openai", model: "m", outcome: "success" as never, latencyMs: 1, usage, hedged: false });

  it("answers a stream with no content at all with a complete, empty completion", async () => {
    const { res, out } = recorder();
    const end = await write(res, modelStream([{ type: "finish", reason: "unknown" }, { type: "usage", usage }]).stream);
    expect(end).toEqual({ kind: "completed", tokens: usage });
    expect(out.status).toBe(200);
    const f = frames(out.body);
    expect(f[0].choices[0]).toMatchObject({ delta: { role: "assistant", content: "", refusal: null }, finish_reason: null });
    expect(f[1].choices[0]).toMatchObject({ delta: {}, finish_reason: "stop" });
    expect(f[2]).toMatchObject({ choices: [], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } });
    expect(f[3]).toBe("[DONE]");
    expect(f).toHaveLength(4);
  });

  it("reports the winning attempt's tokens in the usage chunk when the stream carried none, and zeros when there was no attempt", async () => {
    const billed = { ...emptyUsage(true), inputTokens: 9, outputTokens: 4, cachedInputTokens: 2, reasoningTokens: 1 };
    const { stream } = modelStream([{ type: "text", text: "hi" }]);
    stream.result = async () => ({ provider: "openai", model: "m", attempts: [attempt(emptyUsage()), attempt(billed)], costMicrosUsd: 1n, cacheStatus: "miss" });
    const first = recorder();
    await write(first.res, stream);
    expect(frames(first.out.body).at(-2)).toMatchObject({
      choices: [],
      usage: { prompt_tokens: 9, completion_tokens: 4, total_tokens: 13, prompt_tokens_details: { cached_tokens: 2 }, completion_tokens_details: { reasoning_tokens: 1 } },
    });
    const second = recorder();
    await write(second.res, modelStream([{ type: "text", text: "hi" }]).stream);
    expect(frames(second.out.body).at(-2)).toMatchObject({ choices: [], usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 } });
  });

  it("dates every chunk in whole seconds, rounded down, and keeps the alias as model until the provider names one", async () => {
    const { res, out } = recorder();
    await writeChatCompletionStream({
      res,
      stream: modelStream([{ type: "start", model: "" }, { type: "text", text: "a" }]).stream,
      route: "fast",
      includeUsage: true,
      headers: {},
      now: () => 1_700_000_000_999,
      onUnexpected: () => {},
    });
    const f = frames(out.body).filter((x) => x !== "[DONE]");
    expect(f.map((x) => [x.created, x.model])).toEqual(f.map(() => [1_700_000_000, "fast"]));
  });

  it("sends the usage trailers also when the stream fails after content, and logs a failure that is not a ConnectError", async () => {
    const { res, out } = recorder();
    const unexpected: unknown[] = [];
    const failure = new TypeError("boom");
    const end = await writeChatCompletionStream({
      res,
      stream: modelStream([{ type: "text", text: "partial" }], failure).stream,
      route: "fast",
      includeUsage: false,
      headers: {},
      now: () => 1_700_000_000_000,
      onUnexpected: (err) => unexpected.push(err),
    });
    expect(end.kind).toBe("failed_mid_stream");
    expect(unexpected).toEqual([failure]);
    expect(frames(out.body).at(-1)).toEqual({ error: { message: "internal error", type: "server_error", param: null, code: "internal" } });
    expect(out.trailers).toEqual({ "x-switchboard-cost-micros-usd": "42", "x-switchboard-provider": "openai", "x-switchboard-attempts": "0", "x-switchboard-cache": "miss" });
    expect(out.ended).toBe(true);
  });

  it("writes nothing more when the caller is gone by the time the stream fails", async () => {
    const { res, out } = recorder();
    const { stream } = modelStream([{ type: "text", text: "partial" }]);
    const inner = stream.chunks[Symbol.asyncIterator]();
    let calls = 0;
    let sent = "";
    stream.chunks = {
      [Symbol.asyncIterator]: () => ({
        next: async () => {
          if (calls++ === 0) return inner.next();
          sent = out.body;
          res.destroy();
          throw new ConnectError("provider cut the stream", Code.Unavailable);
        },
      }),
    };
    expect((await write(res, stream)).kind).toBe("caller_gone");
    expect(sent).toContain('"partial"');
    expect(out.body).toBe(sent);
    expect(out.trailers).toEqual({});
  });

  it("reports an HTTP/2 caller who reset the stream before it failed as gone, and writes nothing more", async () => {
    // HTTP/2's compat response has no `destroyed`: its stream tells that the caller reset it.
    const { res: h1, out } = recorder();
    const h2stream = { destroyed: false, closed: false };
    const res = Object.create(h1, { destroyed: { get: () => undefined }, stream: { value: h2stream } }) as HttpResponse;
    const { stream } = modelStream([{ type: "text", text: "partial" }]);
    const inner = stream.chunks[Symbol.asyncIterator]();
    let calls = 0;
    let sent = "";
    stream.chunks = {
      [Symbol.asyncIterator]: () => ({
        next: async () => {
          if (calls++ === 0) return inner.next();
          sent = out.body;
          h2stream.closed = h2stream.destroyed = true;
          throw new ConnectError("the caller went away", Code.Canceled);
        },
      }),
    };
    expect((await write(res, stream)).kind).toBe("caller_gone");
    expect(out.body).toBe(sent);
    expect(out.trailers).toEqual({});
  });

  it("reports a caller who left before the last chunks as gone, not as a completed stream", async () => {
    const { res, out } = recorder({ goneAfterWrites: 1 });
    const end = await write(res, modelStream([{ type: "text", text: "a" }, { type: "finish", reason: "stop" }, { type: "usage", usage }]).stream);
    expect(end).toEqual({ kind: "caller_gone", firstTokenAt: expect.any(Number), tokens: usage });
    expect(out.body).not.toContain("[DONE]");
    expect(out.trailers).toEqual({});
  });
});
