/**
 * The sandbox provider through the real OpenAI adapter (as the registry builds it for kind
 * `sandbox`) and through the official `openai` SDK: answers, streams, tools, JSON Schema replies,
 * embeddings, determinism, every directive's fault as the adapter classifies it, the flaky
 * model's seeded failure count, and a clean shutdown.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Ajv2020 } from "ajv/dist/2020.js";
import OpenAI, { RateLimitError } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHttpClient, type HttpClient } from "../providers/http/http-client.js";
import type { JsonObject, ModelRequest, ModelTool } from "../providers/model.js";
import { createOpenAICompatibleProvider } from "../providers/openai-compatible.js";
import type { CallContext, Provider } from "../providers/provider.js";
import { ProviderError } from "../providers/provider-error.js";
import { collect, providerFailure } from "../providers/provider-calls.testing.js";
import { createProviderRegistry } from "../providers/registry.js";
import { readDirectives } from "./directives.js";
import { startSandbox, type Sandbox } from "./sandbox.js";
import { SUBWORD_TOKENS } from "./subword-tokens.js";

const SLOW_MS = 400;
let sandbox: Sandbox;
let http: HttpClient;
let provider: Provider;
let sdk: OpenAI;

beforeAll(async () => {
  sandbox = await startSandbox({ slowMs: SLOW_MS });
  http = createHttpClient();
  provider = createProviderRegistry({ http }).get("sandbox", sandbox.url)!;
  sdk = new OpenAI({ apiKey: "sandbox-needs-no-key", baseURL: sandbox.url, maxRetries: 0 });
});
afterAll(async () => {
  await http.close();
  await sandbox.close();
});

const ctx = (signal: AbortSignal = AbortSignal.timeout(10_000)): CallContext => ({ signal });
const ask = (model: string, text: string, extra: Partial<ModelRequest> = {}): ModelRequest => ({ model, messages: [{ role: "user", content: [{ type: "text", text }] }], ...extra });

const weather: ModelTool = {
  name: "get_weather",
  description: "Weather for a city",
  parameters: { type: "object", properties: { city: { type: "string" }, unit: { enum: ["celsius", "fahrenheit"] }, days: { type: "integer", minimum: 1, maximum: 7 } }, required: ["city", "unit", "days"], additionalProperties: false },
};

/** An invoice: nested objects, a `$defs` reference, enums, bounds, nullable fields and arrays. */
const invoiceSchema: JsonObject = {
  type: "object",
  $defs: { money: { type: "object", properties: { amount: { type: "number", minimum: 0, multipleOf: 0.01 }, currency: { enum: ["EUR", "USD", "GBP"] } }, required: ["amount", "currency"], additionalProperties: false } },
  properties: {
    invoice_number: { type: "string", minLength: 6 },
    status: { enum: ["paid", "open", "void"] },
    issued: { type: "string", format: "date" },
    customer: { type: "object", properties: { name: { type: "string" }, vat_id: { type: ["string", "null"] }, tier: { anyOf: [{ type: "null" }, { enum: ["gold", "silver"] }] } }, required: ["name", "vat_id", "tier"], additionalProperties: false },
    total: { $ref: "#/$defs/money" },
    lines: { type: "array", minItems: 2, items: { type: "object", properties: { sku: { type: "string" }, quantity: { type: "integer", minimum: 1, maximum: 99 }, price: { $ref: "#/$defs/money" } }, required: ["sku", "quantity", "price"], additionalProperties: false } },
    paid: { type: "boolean" },
  },
  required: ["invoice_number", "status", "issued", "customer", "total", "lines", "paid"],
  additionalProperties: false,
};

function validator(schema: JsonObject) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addFormat("date", /^\d{4}-\d\d-\d\d$/);
  return ajv.compile(schema);
}

describe("sandbox through the OpenAI adapter", () => {
  it("is the registry's `sandbox` kind: no key, every capability but vision", () => {
    expect(provider.kind).toBe("sandbox");
    expect(provider.capabilities).toEqual({ streaming: true, tools: true, parallelToolCalls: true, jsonSchema: true, jsonObject: true, embeddings: true, vision: false });
    expect(sandbox.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
  });

  it("answers a prompt with a templated reply that quotes it, with usage counted from the text", async () => {
    const prompt = "How should I pick a database for a small web app?";
    const res = await provider.chat(ask("sandbox-fast", prompt), ctx());
    expect(res.text).toContain(`"${prompt}"`);
    expect(res.text).not.toMatch(/^echo/);
    expect(res.finishReason).toBe("stop");
    expect(res.model).toBe("sandbox-fast");
    expect(res.providerRequestId).toMatch(/^req_/);
    expect(res.usage).toEqual({ inputTokens: SUBWORD_TOKENS.count(prompt), outputTokens: SUBWORD_TOKENS.count(res.text), cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0, estimated: false });
    expect(sandbox.server.truth().at(-1)).toMatchObject({ model: "sandbox-fast", inputTokens: res.usage.inputTokens, outputTokens: res.usage.outputTokens, delivered: "complete" });
  });

  it("is deterministic: the same prompt gets the same answer, across sandboxes with the same seed", async () => {
    const prompts = ["What is a circuit breaker?", "Summarise the meeting notes", "Is Rust faster than Go?", "Plan a trip to Lisbon", "Explain jittered backoff"];
    const first = await Promise.all(prompts.map((p) => provider.chat(ask("sandbox-fast", p), ctx())));
    const again = await Promise.all(prompts.map((p) => provider.chat(ask("sandbox-fast", p), ctx())));
    expect(again.map((r) => r.text)).toEqual(first.map((r) => r.text));
    const other = await startSandbox();
    try {
      const twin = createOpenAICompatibleProvider("sandbox", { baseUrl: other.url, http });
      expect((await twin.chat(ask("sandbox-fast", prompts[0]!), ctx())).text).toBe(first[0]!.text);
    } finally {
      await other.close();
    }
    // Different prompts are answered differently (they quote the prompt, at least).
    expect(new Set(first.map((r) => r.text)).size).toBe(prompts.length);
  });

  it("sandbox-smart answers later and at more length than sandbox-fast", async () => {
    const started = Date.now();
    const smart = await provider.chat(ask("sandbox-smart", "Explain retries"), ctx());
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    const fast = await provider.chat(ask("sandbox-fast", "Explain retries"), ctx());
    expect(smart.usage.outputTokens).toBeGreaterThan(2 * fast.usage.outputTokens);
  });

  it("streams the same answer as the unary call, ending with one finish and the real usage", async () => {
    const unary = await provider.chat(ask("sandbox-fast", "stream me something"), ctx());
    const chunks = await collect(provider.chatStream(ask("sandbox-fast", "stream me something"), ctx()));
    expect(chunks[0]).toMatchObject({ type: "start", model: "sandbox-fast" });
    expect(chunks.filter((c) => c.type === "text").length).toBeGreaterThan(3);
    expect(chunks.map((c) => (c.type === "text" ? c.text : "")).join("")).toBe(unary.text);
    expect(chunks.slice(-2)).toEqual([
      { type: "finish", reason: "stop" },
      { type: "usage", usage: unary.usage },
    ]);
  });

  it("truncates at max tokens with finish reason length", async () => {
    const res = await provider.chat(ask("sandbox-smart", "a long answer please", { maxOutputTokens: 5 }), ctx());
    expect(res.finishReason).toBe("length");
    expect(res.usage.outputTokens).toBe(5);
  });

  it("calls the offered tool with arguments that fit its schema, then answers from the tool's result", async () => {
    const req = ask("sandbox-fast", "Weather in Paris?", { tools: [weather] });
    const res = await provider.chat(req, ctx());
    expect(res.finishReason).toBe("tool_calls");
    expect(res.toolCalls).toHaveLength(1);
    const call = res.toolCalls[0]!;
    expect(call.name).toBe("get_weather");
    expect(call.id).toMatch(/^call_sandbox/);
    const validate = validator(weather.parameters!);
    expect(validate(JSON.parse(call.argumentsJson)), JSON.stringify(validate.errors)).toBe(true);

    const followUp = await provider.chat(
      {
        ...req,
        messages: [
          ...req.messages,
          { role: "assistant", content: [], toolCalls: [call] },
          { role: "tool", toolCallId: call.id, name: "get_weather", content: [{ type: "text", text: '{"temp_c": 21, "sky": "clear"}' }] },
        ],
      },
      ctx(),
    );
    expect(followUp.finishReason).toBe("stop");
    expect(followUp.toolCalls).toEqual([]);
    expect(followUp.text).toContain("get_weather");
    expect(followUp.text).toContain("Weather in Paris?");
  });

  it("streams a tool call that reassembles to the same arguments", async () => {
    const req = ask("sandbox-fast", "Weather in Oslo?", { tools: [weather], toolChoice: { type: "tool", name: "get_weather" } });
    const unary = await provider.chat(req, ctx());
    const chunks = await collect(provider.chatStream(req, ctx()));
    const args = chunks.map((c) => (c.type === "tool_call" ? c.argumentsDelta : "")).join("");
    expect(args).toBe(unary.toolCalls[0]!.argumentsJson);
    expect(chunks.find((c) => c.type === "finish")).toEqual({ type: "finish", reason: "tool_calls" });
  });

  it("answers json_schema requests with a value that validates against the schema", async () => {
    const res = await provider.chat(ask("sandbox-fast", "Extract the invoice", { responseFormat: { type: "json_schema", name: "invoice", schema: invoiceSchema, strict: true } }), ctx());
    const value: unknown = JSON.parse(res.text);
    const validate = validator(invoiceSchema);
    expect(validate(value), JSON.stringify(validate.errors)).toBe(true);
    expect(value).toMatchObject({ status: "paid", total: { currency: "EUR" } });
    expect((value as { lines: unknown[] }).lines).toHaveLength(2);
  });

  it("answers json_object requests with a JSON object", async () => {
    const res = await provider.chat(ask("sandbox-fast", "as JSON please", { responseFormat: { type: "json_object" } }), ctx());
    expect(JSON.parse(res.text)).toEqual({ answer: expect.stringContaining("as JSON please") });
  });

  it("embeds deterministically in 256 unit-length dimensions, similar texts closer than unrelated ones", async () => {
    const inputs = ["the cat sat on the mat", "a cat was sitting on the mat", "quarterly revenue grew by ten percent"];
    const res = await provider.embed!({ model: "sandbox-embed", inputs }, ctx());
    expect(res.vectors.map((v) => v.length)).toEqual([256, 256, 256]);
    for (const v of res.vectors) expect(Math.hypot(...v)).toBeCloseTo(1, 6);
    const cos = (a: number[], b: number[]) => a.reduce((n, x, i) => n + x * b[i]!, 0);
    const [cat, cat2, revenue] = res.vectors as [number[], number[], number[]];
    expect(cos(cat, cat2)).toBeGreaterThan(0.4);
    expect(cos(cat, cat2)).toBeGreaterThan(cos(cat, revenue) + 0.3);
    expect((await provider.embed!({ model: "sandbox-embed", inputs: [inputs[0]!] }, ctx())).vectors[0]).toEqual(cat);
    expect(res.usage.inputTokens).toBe(inputs.reduce((n, s) => n + SUBWORD_TOKENS.count(s), 0));
    expect((await provider.embed!({ model: "sandbox-embed", inputs: ["x"], dimensions: 64 }, ctx())).vectors[0]).toHaveLength(64);
  });

  it("refuses unknown models (not_found) and the wrong endpoint for a model (bad_request)", async () => {
    expect((await providerFailure(provider.chat(ask("gpt-4o", "hi"), ctx()))).kind).toBe("not_found");
    expect((await providerFailure(provider.chat(ask("sandbox-embed", "hi"), ctx()))).kind).toBe("bad_request");
    expect((await providerFailure(provider.embed!({ model: "sandbox-fast", inputs: ["hi"] }, ctx()))).kind).toBe("bad_request");
  });
});

describe("sandbox directives", () => {
  it("are read from the text and removed from what the answer quotes", () => {
    expect(readDirectives("please [[sandbox:429]] fail [[Sandbox: SLOW]] now [[sandbox:nope]]")).toEqual({ faults: [429, "slow"], text: "please fail now [[sandbox:nope]]" });
    expect(readDirectives("[[sandbox:399]] [[sandbox:600]]").faults).toEqual([]);
  });

  const statusCases: Array<[string, string, number]> = [
    ["[[sandbox:429]]", "rate_limited", 429],
    ["[[sandbox:500]]", "server_error", 500],
    ["[[sandbox:503]]", "overloaded", 503],
    ["[[sandbox:400]]", "bad_request", 400],
  ];
  for (const [directive, kind, status] of statusCases) {
    it(`${directive} → ${kind}`, async () => {
      const err = await providerFailure(provider.chat(ask("sandbox-fast", `hello ${directive}`), ctx()));
      expect(err.kind).toBe(kind);
      expect(err.httpStatus).toBe(status);
      if (status === 429) expect(err.retryAfterMs).toBe(1_000);
      // Streams fail the same way, before any content.
      expect((await providerFailure(collect(provider.chatStream(ask("sandbox-fast", `hello ${directive}`), ctx())))).kind).toBe(kind);
    });
  }

  it("[[sandbox:cut]] → stream_error after some content, billed; a unary body cut → connection", async () => {
    let received = "";
    const err = await providerFailure(
      (async () => {
        for await (const c of provider.chatStream(ask("sandbox-smart", "tell me a story [[sandbox:cut]]"), ctx())) if (c.type === "text") received += c.text;
      })(),
    );
    expect(err.kind).toBe("stream_error");
    expect(received.length).toBeGreaterThan(0);
    expect(err.usage?.outputTokens).toBeGreaterThan(0);
    expect(sandbox.server.truth().at(-1)?.delivered).toBe("partial");
    expect((await providerFailure(provider.chat(ask("sandbox-fast", "[[sandbox:cut]]"), ctx()))).kind).toBe("connection");
  });

  it("[[sandbox:slow]] delays the first byte: a patient caller gets the answer, an impatient one a timeout", async () => {
    const started = Date.now();
    const res = await provider.chat(ask("sandbox-fast", "take your time [[sandbox:slow]]"), ctx());
    expect(Date.now() - started).toBeGreaterThanOrEqual(SLOW_MS - 10);
    expect(res.text).toContain('"take your time"');
    // undici's headers timeout ticks coarsely (about every half second): give it a slower sandbox.
    const slower = await startSandbox({ slowMs: 3_000 });
    try {
      const impatient = createOpenAICompatibleProvider("sandbox", { baseUrl: slower.url, http, headersTimeoutMs: 500 });
      expect((await providerFailure(impatient.chat(ask("sandbox-fast", "[[sandbox:slow]]"), ctx()))).kind).toBe("timeout");
    } finally {
      await slower.close();
    }
  });

  it("[[sandbox:hang]] never answers: the caller's deadline ends it", async () => {
    const err = await providerFailure(provider.chat(ask("sandbox-fast", "[[sandbox:hang]]"), ctx(AbortSignal.timeout(200))));
    expect(["cancelled", "timeout"]).toContain(err.kind);
  });

  it("reach the official SDK as its typed errors", async () => {
    const err = await sdk.chat.completions.create({ model: "sandbox-fast", messages: [{ role: "user", content: "[[sandbox:429]]" }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitError);
    expect((err as RateLimitError).headers?.get("retry-after")).toBe("1");
  });
});

describe("sandbox-flaky", () => {
  it("fails a seeded 30% of 200 requests, with 503 or 429, the same run every time", async () => {
    const run = async () => {
      const flaky = await startSandbox({ seed: 42 });
      try {
        const p = createOpenAICompatibleProvider("sandbox", { baseUrl: flaky.url, http });
        const outcomes: string[] = [];
        for (let i = 0; i < 200; i++) {
          outcomes.push(await p.chat(ask("sandbox-flaky", `request ${i}`), ctx()).then(() => "ok", (e: ProviderError) => e.kind));
        }
        return outcomes;
      } finally {
        await flaky.close();
      }
    };
    const outcomes = await run();
    const failed = outcomes.filter((o) => o !== "ok");
    expect(new Set(failed)).toEqual(new Set(["overloaded", "rate_limited"]));
    expect(failed.length).toBe(FLAKY_FAILURES_SEED_42);
    expect(await run()).toEqual(outcomes);
  });
});

/** Failures of sandbox-flaky (rate 0.3) in 200 sequential requests with seed 42. */
const FLAKY_FAILURES_SEED_42 = 60;

describe("sandbox through the official SDK", () => {
  it("answers unary calls with OpenAI's shapes", async () => {
    const { data, request_id } = await sdk.chat.completions.create({ model: "sandbox-fast", messages: [{ role: "user", content: "hello sandbox" }] }).withResponse();
    expect(data.object).toBe("chat.completion");
    expect(data.id).toMatch(/^chatcmpl-sandbox/);
    expect(data.choices[0]?.message.content).toContain('"hello sandbox"');
    expect(data.usage?.total_tokens).toBe((data.usage?.prompt_tokens ?? 0) + (data.usage?.completion_tokens ?? 0));
    expect(request_id).toMatch(/^req_/);
  });

  it("streams with include_usage: the usage arrives in a last chunk with no choices", async () => {
    const stream = await sdk.chat.completions.create({ model: "sandbox-fast", messages: [{ role: "user", content: "stream please" }], stream: true, stream_options: { include_usage: true } });
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks.at(-1)?.choices).toEqual([]);
    expect(chunks.at(-1)?.usage?.completion_tokens).toBeGreaterThan(0);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? "").join("")).toContain('"stream please"');
  });

  it("parses json_schema replies and strict tool arguments with the SDK helpers", async () => {
    const parsed = await sdk.chat.completions.parse({
      model: "sandbox-fast",
      messages: [{ role: "user", content: "extract" }],
      response_format: { type: "json_schema", json_schema: { name: "invoice", schema: invoiceSchema, strict: true } },
    });
    expect(validator(invoiceSchema)(parsed.choices[0]?.message.parsed)).toBe(true);
    const runner = sdk.chat.completions.stream({
      model: "sandbox-fast",
      messages: [{ role: "user", content: "weather?" }],
      tools: [{ type: "function", function: { name: weather.name, parameters: weather.parameters!, strict: true } }],
    });
    const final = await runner.finalChatCompletion();
    const call = final.choices[0]?.message.tool_calls?.[0];
    expect(call?.type === "function" && call.function.parsed_arguments).toEqual({ city: "sample city", unit: "celsius", days: 1 });
  });

  it("embeds (base64 by default in the SDK) like the adapter (floats)", async () => {
    const viaSdk = await sdk.embeddings.create({ model: "sandbox-embed", input: "hello world" });
    const viaAdapter = await provider.embed!({ model: "sandbox-embed", inputs: ["hello world"] }, ctx());
    viaAdapter.vectors[0]!.forEach((x, i) => expect(viaSdk.data[0]?.embedding[i]).toBeCloseTo(x, 6));
  });
});

describe("sandbox shutdown", () => {
  it("close() leaves no open handle behind, even with hanging, slow and latent requests in flight", async () => {
    // A child process ends by itself only when nothing (server, socket, timer) is left open.
    const fixture = fileURLToPath(new URL("./sandbox-exit.fixture.ts", import.meta.url));
    const started = Date.now();
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, ["--import", "tsx", fixture], { timeout: 20_000 }, (err, out, errOut) =>
        resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : null, stdout: out, stderr: errOut }),
      );
    });
    expect(code, stderr).toBe(0);
    expect(JSON.parse(stdout)).toEqual(["answered", "connection", "connection", "connection"]);
    // Well before the 60 s slow delay or the 20 s kill: nothing kept the process alive.
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});
