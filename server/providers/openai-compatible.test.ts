import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { FakeProvider } from "../../test/fakes/fake-types.js";
import { startOpenAIFake } from "../../test/fakes/openai-fake.js";
import { createHttpClient, type HttpClient, type HttpRequest } from "./http/http-client.js";
import type { ModelRequest } from "./model.js";
import { OPENAI_DECLARATION } from "./openai.js";
import { createOpenAICompatibleProvider, OPENAI_COMPATIBLE_PRESETS, type OpenAICompatiblePreset } from "./openai-compatible.js";
import { collect } from "./provider-calls.testing.js";

let fake: FakeProvider;
let real: HttpClient;
/** The real client, recording each request's URL and headers (the fake records paths only). */
let sent: HttpRequest[];
let http: HttpClient;

beforeAll(async () => {
  fake = await startOpenAIFake();
  real = createHttpClient();
  http = {
    send: (req) => {
      sent.push(req);
      return real.send(req);
    },
    close: () => real.close(),
  };
});
afterAll(async () => {
  await real.close();
  await fake.close();
});
beforeEach(() => {
  fake.reset();
  sent = [];
});

const ctx = (apiKey?: string) => ({ signal: new AbortController().signal, ...(apiKey === undefined ? {} : { apiKey }) });
const ask = (model: string, extra: Partial<ModelRequest> = {}): ModelRequest => ({
  model,
  messages: [{ role: "user", name: "ada", content: [{ type: "text", text: "hello world" }] }],
  maxOutputTokens: 20,
  ...extra,
});
describe("OpenAI-compatible presets", () => {
  it("are small declarations with every capability stated", () => {
    const keys = Object.keys(OPENAI_DECLARATION.capabilities).sort();
    for (const [kind, preset] of Object.entries(OPENAI_COMPATIBLE_PRESETS) as Array<[string, OpenAICompatiblePreset]>) {
      expect(preset.kind).toBe(kind);
      expect(preset.label).not.toBe("");
      expect(Object.keys(preset.capabilities).sort()).toEqual(keys);
      // Azure's endpoint is per resource; the sandbox's is a loopback port chosen at start.
      if (kind !== "azure" && kind !== "sandbox") expect(preset.defaultBaseUrl).toMatch(/^https?:\/\/.+\/v1$/);
    }
    expect(Object.keys(OPENAI_COMPATIBLE_PRESETS).sort()).toEqual(["azure", "deepseek", "fireworks", "groq", "mistral", "ollama", "openrouter", "sandbox", "together", "vllm"]);
  });

  it("Azure: deployment path from the model id, api-version query, api-key header", async () => {
    const azure = createOpenAICompatibleProvider("azure", { baseUrl: fake.url, http });
    expect(azure.kind).toBe("azure");
    const res = await azure.chat(ask("my-gpt4o"), ctx("azure-key-1"));
    expect(res.text).toBe("echo: hello world");
    expect(sent[0]?.url).toBe(`${fake.url}/openai/deployments/my-gpt4o/chat/completions?api-version=2024-10-21`);
    const rec = fake.requests()[0]!;
    expect(rec.path).toBe("/openai/deployments/my-gpt4o/chat/completions");
    expect(rec.headers["api-key"]).toBe("azure-key-1");
    expect(rec.headers.authorization).toBeUndefined();
    expect((rec.body as Record<string, unknown>).max_completion_tokens).toBe(20);

    const emb = await azure.embed!({ model: "my-embed", inputs: ["a"] }, ctx("azure-key-1"));
    expect(emb.vectors).toHaveLength(1);
    expect(sent[1]?.url).toBe(`${fake.url}/openai/deployments/my-embed/embeddings?api-version=2024-10-21`);
  });

  it("Azure: another api-version overrides the preset's; a missing endpoint is a config error", async () => {
    const azure = createOpenAICompatibleProvider("azure", { baseUrl: `${fake.url}/`, http, query: { "api-version": "2025-04-01-preview" } });
    await azure.chat(ask("dep"), ctx("k"));
    expect(sent[0]?.url).toBe(`${fake.url}/openai/deployments/dep/chat/completions?api-version=2025-04-01-preview`);
    expect(() => createOpenAICompatibleProvider("azure", { http })).toThrow(/azure: baseUrl is required/);
  });

  it("Groq: bearer auth, max_completion_tokens, streamed usage, no embeddings", async () => {
    const groq = createOpenAICompatibleProvider("groq", { baseUrl: `${fake.url}/openai/v1`, http });
    expect(groq.kind).toBe("groq");
    expect(groq.embed).toBeUndefined();
    expect(groq.capabilities.embeddings).toBe(false);
    const chunks = await collect(groq.chatStream(ask("llama-3.3-70b-versatile"), ctx("gsk_test")));
    expect(chunks.at(-1)).toMatchObject({ type: "usage", usage: { inputTokens: 2, outputTokens: 3, estimated: false } });
    expect(fake.requests()[0]?.path).toBe("/openai/v1/chat/completions");
    expect(fake.requests()[0]?.headers.authorization).toBe("Bearer gsk_test");
    expect(fake.requests()[0]?.body).toMatchObject({ max_completion_tokens: 20, stream_options: { include_usage: true } });
  });

  it("Mistral: max_tokens, no stream_options, no message names", async () => {
    const mistral = createOpenAICompatibleProvider("mistral", { baseUrl: `${fake.url}/v1`, http });
    await collect(mistral.chatStream(ask("mistral-large-latest"), ctx("m-key")));
    const body = fake.requests()[0]?.body as Record<string, unknown>;
    expect(body).toMatchObject({ max_tokens: 20, stream: true });
    expect(body).not.toHaveProperty("max_completion_tokens");
    expect(body).not.toHaveProperty("stream_options");
    expect(body.messages).toEqual([{ role: "user", content: "hello world" }]);
  });

  it("Mistral: a seed goes as random_seed (Mistral refuses an unknown `seed` with a 422)", async () => {
    const mistral = createOpenAICompatibleProvider("mistral", { baseUrl: `${fake.url}/v1`, http });
    await mistral.chat(ask("mistral-large-latest", { seed: 7 }), ctx("m-key"));
    const body = fake.requests()[0]?.body as Record<string, unknown>;
    expect(body).toMatchObject({ random_seed: 7 });
    expect(body).not.toHaveProperty("seed");
  });

  it("DeepSeek, Together, Fireworks, OpenRouter, vLLM: max_tokens", async () => {
    for (const kind of ["deepseek", "together", "fireworks", "openrouter", "vllm"] as const) {
      fake.reset();
      const p = createOpenAICompatibleProvider(kind, { baseUrl: `${fake.url}/v1`, http });
      expect(p.kind).toBe(kind);
      await p.chat(ask("m"), ctx("k"));
      expect(fake.requests()[0]?.body).toMatchObject({ max_tokens: 20 });
    }
  });

  it("Ollama: no key, no authorization header; capability overrides per target", async () => {
    const ollama = createOpenAICompatibleProvider("ollama", { baseUrl: `${fake.url}/v1`, http, capabilities: { vision: true } });
    expect(ollama.capabilities.vision).toBe(true);
    expect(OPENAI_COMPATIBLE_PRESETS.ollama.capabilities.vision).toBe(false);
    const res = await ollama.chat(ask("llama3.2"), ctx());
    expect(res.text).toBe("echo: hello world");
    expect(fake.requests()[0]?.headers.authorization).toBeUndefined();
    const emb = await ollama.embed!({ model: "nomic-embed-text", inputs: ["a b"] }, ctx());
    expect(emb.usage.inputTokens).toBe(2);
  });

  it("a new vendor is a preset object of a few lines", async () => {
    const acme: OpenAICompatiblePreset = {
      kind: "acme",
      label: "Acme AI",
      defaultBaseUrl: `${fake.url}/api/v1`,
      auth: "bearer",
      apiKeyRequired: true,
      capabilities: { ...OPENAI_DECLARATION.capabilities, embeddings: false },
      quirks: { maxTokensField: "max_tokens", streamUsageOption: true, messageNames: true },
    };
    const p = createOpenAICompatibleProvider(acme, { http, extraHeaders: { "x-title": "switchboard" } });
    // No bounds declared: none checked, and never OpenAI's own catalog for another vendor's models.
    expect(p.limits).toEqual({});
    await p.chat(ask("acme-1"), ctx("acme-key"));
    expect(fake.requests()[0]?.path).toBe("/api/v1/chat/completions");
    expect(fake.requests()[0]?.headers["x-title"]).toBe("switchboard");
    await expect(p.chat(ask("acme-1"), ctx("acme-key"))).resolves.toMatchObject({ model: "acme-1" });
  });

  it("classifies errors with the vendor's kind in the message", async () => {
    fake.script({ fault: { kind: "status", status: 429, retryAfterMs: 1200 } });
    const groq = createOpenAICompatibleProvider("groq", { baseUrl: `${fake.url}/openai/v1`, http });
    await expect(groq.chat(ask("m"), ctx("k"))).rejects.toMatchObject({ kind: "rate_limited", retryAfterMs: 1200, message: "groq: the provider rate-limited the call (HTTP 429)" });
  });
});
