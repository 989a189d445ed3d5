/**
 * The Gemini adapter on canned bodies: thought parts are never output, the last finishReason and
 * usageMetadata count, a cut stream carries the usage its chunks reported, and a query embedding
 * says so.
 */
import { describe, expect, it } from "vitest";
import type { HttpClient, HttpRequest, HttpResponse } from "../http/http-client.js";
import type { ModelChunk, ModelRequest } from "../model.js";
import { ProviderError } from "../provider-error.js";
import { createGeminiProvider } from "../gemini.js";

function answering(text: string, tail?: Error, sent: HttpRequest[] = []): HttpClient {
  return {
    send: async (r) => {
      sent.push(r);
      const res: HttpResponse = {
        status: 200,
        headers: {},
        body: (async function* () {
          yield new TextEncoder().encode(text);
          if (tail) throw tail;
        })(),
        text: async () => text,
      };
      return res;
    },
    close: async () => {},
  };
}

const frame = (data: unknown) => `data: ${JSON.stringify(data)}\n\n`;
const ctx = { signal: new AbortController().signal, apiKey: "k" };
const req: ModelRequest = { model: "gemini-2.5-flash", messages: [{ role: "user", content: [{ type: "text", text: "12345678" }] }] };
const usage = (prompt: number, out: number) => ({ promptTokenCount: prompt, candidatesTokenCount: out, totalTokenCount: prompt + out });

async function collect(http: HttpClient): Promise<ModelChunk[]> {
  const out: ModelChunk[] = [];
  for await (const c of createGeminiProvider({ http }).chatStream(req, ctx)) out.push(c);
  return out;
}

describe("gemini adapter on canned streams", () => {
  it("skips thought parts, takes the last finishReason and the last usageMetadata", async () => {
    const chunks = await collect(
      answering(
        frame({ candidates: [{ content: { role: "model", parts: [{ text: "thinking...", thought: true }, { text: "hi" }] }, finishReason: "SAFETY" }], usageMetadata: usage(5, 1) }) +
          frame({ candidates: [{ content: { role: "model", parts: [{ text: " there" }] }, finishReason: "STOP" }], usageMetadata: usage(5, 3) }),
      ),
    );
    expect(chunks.filter((c) => c.type === "text")).toEqual([
      { type: "text", text: "hi" },
      { type: "text", text: " there" },
    ]);
    expect(chunks.slice(-2)).toEqual([
      { type: "finish", reason: "stop" },
      { type: "usage", usage: { inputTokens: 5, outputTokens: 3, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0, estimated: false } },
    ]);
  });

  it("a stream cut after a usage report carries that usage, output at least what arrived", async () => {
    const http = answering(
      frame({ candidates: [{ content: { role: "model", parts: [{ text: "0123456789abcdef0123" }] } }], usageMetadata: { promptTokenCount: 900, cachedContentTokenCount: 800, candidatesTokenCount: 1 } }),
      new ProviderError("connection", "reset"),
    );
    let err: unknown;
    try {
      await collect(http);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).kind).toBe("stream_error");
    expect((err as ProviderError).usage).toEqual({ inputTokens: 900, outputTokens: 5, cachedInputTokens: 800, cacheWriteInputTokens: 0, reasoningTokens: 0, estimated: true });
  });

  it("embeds a query with the query task type", async () => {
    const sent: HttpRequest[] = [];
    const provider = createGeminiProvider({ http: answering(JSON.stringify({ embedding: { values: [1, 2] } }), undefined, sent) });
    await provider.embed!({ model: "text-embedding-004", inputs: ["q"], inputType: "query" }, ctx);
    expect(JSON.parse(sent[0]!.body!)).toMatchObject({ taskType: "RETRIEVAL_QUERY" });
  });
});
