/**
 * P3: the usage chunk arrived (the provider's own count), then the connection broke before
 * `data: [DONE]`. The cut is a `stream_error`, but what it bills should be the provider's usage,
 * not an estimate from characters.
 */
import { describe, expect, it } from "vitest";
import type { HttpResponse } from "../http/http-client.js";
import type { ModelRequest } from "../model.js";
import { ProviderError } from "../provider-error.js";
import { withPartialUsage } from "../usage-estimate.js";
import { readChatStream } from "./stream.js";

const req: ModelRequest = { model: "gpt-x", messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }] };
const frame = (data: unknown) => `data: ${JSON.stringify(data)}\n\n`;

function response(text: string, tail: Error): HttpResponse {
  return {
    status: 200,
    headers: {},
    body: (async function* () {
      yield new TextEncoder().encode(text);
      throw tail;
    })(),
    text: async () => text,
  };
}

describe("openai stream cut after its usage chunk", () => {
  it("fails as stream_error carrying the provider's usage", async () => {
    const body =
      frame({ id: "c1", model: "gpt-x", choices: [{ index: 0, delta: { content: "Hello world" }, finish_reason: null }] }) +
      frame({ id: "c1", model: "gpt-x", choices: [{ index: 0, delta: {}, finish_reason: "stop" }] }) +
      frame({ id: "c1", model: "gpt-x", choices: [], usage: { prompt_tokens: 1200, completion_tokens: 300, prompt_tokens_details: { cached_tokens: 1000 } } });
    let err: unknown;
    try {
      for await (const _ of withPartialUsage(req, readChatStream("openai", response(body, new ProviderError("connection", "socket hang up")), req, undefined)));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).kind).toBe("stream_error");
    expect((err as ProviderError).usage).toMatchObject({ inputTokens: 1200, outputTokens: 300, cachedInputTokens: 1000 });
  });
});
