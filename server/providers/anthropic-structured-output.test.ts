/**
 * Structured output on the Anthropic adapter, against the wire-faithful fake: `responseFormat`
 * json_schema / json_object becomes a forced synthetic tool, and its `tool_use` input comes back as
 * the answer's text with a normal stop, unary and streamed.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startAnthropicFake } from "../../test/fakes/anthropic-fake.js";
import type { FakeProvider } from "../../test/fakes/fake-types.js";
import { createAnthropicProvider } from "./anthropic.js";
import { STRUCTURED_OUTPUT_TOOL } from "./anthropic/structured-output.js";
import { createHttpClient, type HttpClient } from "./http/http-client.js";
import type { ModelRequest, ModelResponseFormat } from "./model.js";
import type { CallContext, Provider } from "./provider.js";
import { collect, providerFailure } from "./provider-calls.testing.js";

const MODEL = "claude-sonnet-5-5";
const API_KEY = "sk-ant-api03-structured-output";
const invoice = { type: "object", properties: { total: { type: "number" }, currency: { type: "string" } }, required: ["total"] };
const weather = { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } };

let fake: FakeProvider;
let http: HttpClient;
let provider: Provider;

beforeAll(async () => {
  fake = await startAnthropicFake();
  http = createHttpClient();
  provider = createAnthropicProvider({ baseUrl: fake.url, http });
});
afterAll(async () => {
  await http.close();
  await fake.close();
});
beforeEach(() => fake.reset());

function ctx(): CallContext {
  return { signal: AbortSignal.timeout(10_000), apiKey: API_KEY };
}

function ask(responseFormat: ModelResponseFormat, extra: Partial<ModelRequest> = {}): ModelRequest {
  return { model: MODEL, messages: [{ role: "user", content: [{ type: "text", text: "extract" }] }], responseFormat, ...extra };
}

const schemaFormat = (schema: Record<string, unknown>): ModelResponseFormat => ({ type: "json_schema", name: "invoice", schema: schema as never, strict: true });

function lastBody(): Record<string, unknown> {
  return fake.requests().at(-1)!.body as Record<string, unknown>;
}

async function streamed(req: ModelRequest): Promise<{ text: string; pieces: number; toolCalls: number; finish: string | undefined }> {
  const chunks = await collect(provider.chatStream(req, ctx()));
  const texts = chunks.flatMap((c) => (c.type === "text" ? [c.text] : []));
  const finish = chunks.find((c) => c.type === "finish");
  return { text: texts.join(""), pieces: texts.length, toolCalls: chunks.filter((c) => c.type === "tool_call").length, finish: finish?.type === "finish" ? finish.reason : undefined };
}

describe("anthropic adapter: structured output", () => {
  it("declares JSON schema and JSON mode, so dispatch stops filtering Anthropic targets out", () => {
    expect(provider.capabilities).toMatchObject({ jsonSchema: true, jsonObject: true });
  });

  it("sends the schema as a forced synthetic tool", async () => {
    fake.script({ reply: { text: '{"total":42}' } });
    await provider.chat(ask(schemaFormat(invoice)), ctx());
    const body = lastBody();
    expect(body.tools).toEqual([{ name: STRUCTURED_OUTPUT_TOOL, description: expect.any(String), input_schema: invoice }]);
    expect(body.tool_choice).toEqual({ type: "tool", name: STRUCTURED_OUTPUT_TOOL, disable_parallel_tool_use: true });
    expect(body).not.toHaveProperty("response_format");
  });

  it("answers with the tool input as the text and a normal stop", async () => {
    // What the model generates under the forced tool choice: a call of the synthetic tool.
    fake.script({ reply: { toolCalls: [{ name: STRUCTURED_OUTPUT_TOOL, argumentsJson: '{"total":42,"currency":"EUR"}' }], usage: { input: 10, output: 6 } } });
    const res = await provider.chat(ask(schemaFormat(invoice)), ctx());
    expect(JSON.parse(res.text)).toEqual({ total: 42, currency: "EUR" });
    expect(res.toolCalls).toEqual([]);
    expect(res.finishReason).toBe("stop");
    expect(res.usage).toMatchObject({ inputTokens: 10, outputTokens: 6, estimated: false });
  });

  it("streams the tool's input_json_delta pieces as text deltas that concatenate to valid JSON", async () => {
    const answer = { total: 1234.5, currency: "EUR", note: "a longer note to split in several pieces" };
    fake.script({ reply: { toolCalls: [{ name: STRUCTURED_OUTPUT_TOOL, argumentsJson: JSON.stringify(answer) }], usage: { input: 10, output: 9 } } });
    const out = await streamed(ask(schemaFormat(invoice)));
    expect(JSON.parse(out.text)).toEqual(answer);
    expect(out.pieces).toBeGreaterThan(1);
    expect(out.toolCalls).toBe(0);
    expect(out.finish).toBe("stop");
  });

  it("json_object sends a permissive object schema", async () => {
    fake.script({ reply: { text: '{"anything":[1,2]}' } });
    const res = await provider.chat(ask({ type: "json_object" }), ctx());
    expect((lastBody().tools as Array<{ input_schema: unknown }>)[0]!.input_schema).toEqual({ type: "object" });
    expect(JSON.parse(res.text)).toEqual({ anything: [1, 2] });
    expect(res.finishReason).toBe("stop");
  });

  it("wraps a schema whose root is not an object and unwraps the answer, unary and streamed", async () => {
    const list = { type: "array", items: { $ref: "#/$defs/item" }, $defs: { item: { type: "string" } } };
    const wrapped = { type: "object", properties: { value: { type: "array", items: { $ref: "#/$defs/item" } } }, required: ["value"], $defs: { item: { type: "string" } } };
    const call = { toolCalls: [{ name: STRUCTURED_OUTPUT_TOOL, argumentsJson: '{"value":["a","b"]}' }], finishReason: "tool_calls" as const };
    fake.script({ reply: call }, { reply: call });
    const res = await provider.chat(ask(schemaFormat(list)), ctx());
    expect((lastBody().tools as Array<{ input_schema: unknown }>)[0]!.input_schema).toEqual(wrapped);
    expect(JSON.parse(res.text)).toEqual(["a", "b"]);
    expect(res.finishReason).toBe("stop");
    const out = await streamed(ask(schemaFormat(list)));
    expect(JSON.parse(out.text)).toEqual(["a", "b"]);
    expect(out.finish).toBe("stop");
  });

  it("with the caller's tools, offers both and makes the model use one: a real call stays a tool call, the answer is text", async () => {
    fake.script(
      { reply: { toolCalls: [{ name: "get_weather", argumentsJson: '{"city":"Paris"}' }], finishReason: "tool_calls" } },
      { reply: { toolCalls: [{ name: STRUCTURED_OUTPUT_TOOL, argumentsJson: '{"total":3}' }], finishReason: "tool_calls" } },
    );
    const first = await provider.chat(ask(schemaFormat(invoice), { tools: [weather] }), ctx());
    expect((lastBody().tools as Array<{ name: string }>).map((t) => t.name)).toEqual(["get_weather", STRUCTURED_OUTPUT_TOOL]);
    expect(lastBody().tool_choice).toEqual({ type: "any" });
    expect([first.finishReason, first.toolCalls.map((c) => c.name), first.text]).toEqual(["tool_calls", ["get_weather"], ""]);
    const second = await provider.chat(ask(schemaFormat(invoice), { tools: [weather] }), ctx());
    expect([second.finishReason, second.toolCalls, JSON.parse(second.text)]).toEqual(["stop", [], { total: 3 }]);
  });

  it("a tool choice that forces the caller's tools sends no synthetic tool; none forces the answer", async () => {
    await provider.chat(ask(schemaFormat(invoice), { tools: [weather], toolChoice: { type: "required" } }), ctx());
    expect((lastBody().tools as Array<{ name: string }>).map((t) => t.name)).toEqual(["get_weather"]);
    expect(lastBody().tool_choice).toEqual({ type: "any" });
    fake.script({ reply: { text: '{"total":1}' } });
    const res = await provider.chat(ask(schemaFormat(invoice), { tools: [weather], toolChoice: { type: "none" } }), ctx());
    expect((lastBody().tools as Array<{ name: string }>).map((t) => t.name)).toEqual(["get_weather", STRUCTURED_OUTPUT_TOOL]);
    expect(lastBody().tool_choice).toEqual({ type: "tool", name: STRUCTURED_OUTPUT_TOOL, disable_parallel_tool_use: true });
    expect(JSON.parse(res.text)).toEqual({ total: 1 });
  });

  it("refuses a caller tool that takes the synthetic tool's name, before sending anything", async () => {
    const err = await providerFailure(provider.chat(ask(schemaFormat(invoice), { tools: [{ name: STRUCTURED_OUTPUT_TOOL }] }), ctx()));
    expect(err.kind).toBe("bad_request");
    expect(err.message).toContain(STRUCTURED_OUTPUT_TOOL);
    expect(fake.requests()).toHaveLength(0);
  });
  it("asks for no thinking when structured output forces its tool, even with a reasoning effort (Anthropic refuses both together)", async () => {
    fake.script({ reply: { text: '{"total":42}' } });
    // A model that takes a thinking budget (MODEL's generation takes none, so it would prove nothing).
    const res = await provider.chat(ask(schemaFormat(invoice), { model: "claude-sonnet-4-5", reasoningEffort: "high", maxOutputTokens: 8_000, temperature: 0.2 }), ctx());
    expect(res.text).toBe('{"total":42}');
    expect(lastBody()).toMatchObject({ tool_choice: { type: "tool", name: STRUCTURED_OUTPUT_TOOL }, temperature: 0.2 });
    expect(lastBody()).not.toHaveProperty("thinking");
  });

  it("keeps adaptive thinking with the forced tool on the models that take it (a forced tool refuses only a budget)", async () => {
    fake.script({ reply: { text: '{"total":42}', thinking: "add the lines" } });
    const res = await provider.chat(ask(schemaFormat(invoice), { reasoningEffort: "minimal", temperature: 0.2 }), ctx());
    expect(res.text).toBe('{"total":42}');
    expect(res.usage.reasoningTokens).toBe(3);
    expect(lastBody()).toMatchObject({ model: MODEL, tool_choice: { type: "tool", name: STRUCTURED_OUTPUT_TOOL }, thinking: { type: "adaptive" }, output_config: { effort: "low" } });
    expect(lastBody()).not.toHaveProperty("temperature");
  });
});
