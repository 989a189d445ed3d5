/**
 * OpenAI's reasoning models (the o-series, GPT-5 and its point releases but the -chat variants)
 * take only the default `temperature` and `top_p` (1): any other value is a 400 that fails the
 * call. The adapter leaves them out for those models — a sampling hint the model answers without,
 * as the Anthropic adapter does for the Claude models that refuse them — and sends them as asked
 * to every other model. The fake refuses them as OpenAI does, so a call that sent them would fail.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { FakeProvider } from "../../test/fakes/fake-types.js";
import { startOpenAIFake } from "../../test/fakes/openai-fake.js";
import { createHttpClient, type HttpClient } from "./http/http-client.js";
import type { ModelRequest } from "./model.js";
import { createOpenAIProvider } from "./openai.js";
import { createOpenAICompatibleProvider } from "./openai-compatible.js";

let fake: FakeProvider;
let http: HttpClient;
beforeAll(async () => {
  fake = await startOpenAIFake();
  http = createHttpClient();
});
afterAll(async () => {
  await http.close();
  await fake.close();
});
beforeEach(() => fake.reset());

const ctx = () => ({ signal: AbortSignal.timeout(10_000), apiKey: "test-key" });
const ask = (model: string, extra: Partial<ModelRequest> = {}): ModelRequest => ({ model, messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }], ...extra });
const sent = () => fake.requests().at(-1)!.body as Record<string, unknown>;

describe("temperature and top_p on OpenAI's reasoning models", () => {
  const openai = () => createOpenAIProvider({ baseUrl: fake.url, http });

  it("leaves out a temperature or top_p other than 1 for the reasoning models, and the call goes through", async () => {
    for (const model of ["o1", "o1-mini", "o3", "o3-mini", "o4-mini", "gpt-5", "gpt-5-mini", "gpt-5.1", "ft:o4-mini-2025-04-16:acme::x"]) {
      const res = await openai().chat(ask(model, { temperature: 0.2, topP: 0.5 }), ctx());
      expect(res.text, model).toBe("echo: hi");
      expect(sent(), model).not.toHaveProperty("temperature");
      expect(sent(), model).not.toHaveProperty("top_p");
    }
    // The default itself is taken: sent as asked.
    await openai().chat(ask("o3", { temperature: 1, topP: 1 }), ctx());
    expect(sent()).toMatchObject({ temperature: 1, top_p: 1 });
    // Azure gates on the model it serves, as for reasoning_effort.
    await createOpenAICompatibleProvider("azure", { baseUrl: fake.url, http }).chat(ask("o4-mini", { temperature: 0 }), { ...ctx(), params: { deployment: "reasoner" } });
    expect(sent()).not.toHaveProperty("temperature");
  });

  it("sends them as asked to the other models", async () => {
    for (const model of ["gpt-4o", "gpt-4.1-mini", "gpt-5-chat-latest", "my-model"]) {
      await openai().chat(ask(model, { temperature: 0.2, topP: 0.5 }), ctx());
      expect(sent(), model).toMatchObject({ temperature: 0.2, top_p: 0.5 });
    }
  });

  it("the fake refuses them for a reasoning model as OpenAI does", async () => {
    const res = await fetch(`${fake.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer k" },
      body: JSON.stringify({ model: "o3", messages: [{ role: "user", content: "hi" }], temperature: 0.2 }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: { message: "Unsupported value: 'temperature' does not support 0.2 with this model. Only the default (1) value is supported.", type: "invalid_request_error", param: "temperature", code: "unsupported_value" },
    });
    const topP = await fetch(`${fake.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer k" },
      body: JSON.stringify({ model: "gpt-5", messages: [{ role: "user", content: "hi" }], top_p: 0.5 }),
    });
    expect(topP.status).toBe(400);
    expect(((await topP.json()) as { error: { param: string; code: string } }).error).toMatchObject({ param: "top_p", code: "unsupported_parameter" });
  });

  it("declares the reasoning models as taking no penalties and no stop (dispatch skips them for a request that sets one), which the fake refuses", async () => {
    const limits = createOpenAIProvider({ baseUrl: fake.url, http }).limits!;
    const azureLimits = createOpenAICompatibleProvider("azure", { baseUrl: fake.url, http }).limits!;
    for (const model of ["o1", "o3-mini", "gpt-5", "ft:o4-mini-2025-04-16:acme::x"]) {
      expect(limits.forModel?.(model), model).toEqual({ maxStopSequences: 0, samplingPenalties: [] });
      expect(azureLimits.forModel?.(model), model).toEqual({ maxStopSequences: 0, samplingPenalties: [] });
    }
    for (const model of ["gpt-4o", "gpt-5-chat-latest", "my-model"]) expect(limits.forModel?.(model), model).toBeUndefined();
    const res = await fetch(`${fake.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer k" },
      body: JSON.stringify({ model: "gpt-5-mini", messages: [{ role: "user", content: "hi" }], presence_penalty: 0.5 }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string; param: string } }).error).toMatchObject({ param: "presence_penalty", message: "Unsupported parameter: 'presence_penalty' is not supported with this model." });
    const stop = await fetch(`${fake.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer k" },
      body: JSON.stringify({ model: "o4-mini", messages: [{ role: "user", content: "hi" }], stop: ["END"] }),
    });
    expect(stop.status).toBe(400);
    expect(((await stop.json()) as { error: { param: string } }).error.param).toBe("stop");
  });
});
