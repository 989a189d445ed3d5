import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import type { ModelMessage } from "../providers/model.js";
import { createChatVerb } from "./chat-verb.js";
import { createEmbedVerb } from "./embed-verb.js";
import { createScriptedPipeline } from "./testing/scripted-pipeline.js";
import { testContext } from "./testing/test-context.js";

const MESSAGES: ModelMessage[] = [
  { role: "system", content: [{ type: "text", text: "Be brief." }] },
  { role: "user", content: [{ type: "text", text: "Weather in {{city}}?" }] },
];

describe("Chat", () => {
  it("passes messages, tools and format through and returns the assistant message", async () => {
    const toolCalls = [{ id: "c1", name: "weather", argumentsJson: '{"city":"Bern"}' }];
    const pipeline = createScriptedPipeline([{ type: "answer", text: "", toolCalls, finishReason: "tool_calls", costMicrosUsd: 3n }]);
    const tools = [{ name: "weather", parameters: { type: "object" } }];
    const out = await createChatVerb({ pipeline })(
      { messages: MESSAGES, tools, toolChoice: { type: "required" }, responseFormat: { type: "json_object" }, stop: ["\n\n"], seed: 7 },
      testContext({ generation: { maxOutputTokens: 100, temperature: 0.2 } }),
    );
    expect(out).toMatchObject({ message: { role: "assistant", content: [], toolCalls }, finishReason: "tool_calls" });
    expect(out.usage.costMicrosUsd).toBe(3n);
    const call = pipeline.chatCalls()[0];
    expect(call?.request).toEqual({
      model: "",
      messages: MESSAGES,
      tools,
      toolChoice: { type: "required" },
      responseFormat: { type: "json_object" },
      stop: ["\n\n"],
      seed: 7,
      maxOutputTokens: 100,
      temperature: 0.2,
    });
    expect(call?.meta).toMatchObject({ verb: "chat", userContentMessages: [0, 1] });
    expect(call?.meta.template).toBeUndefined();
  });

  it("prepends an attached template's messages as fixed context, and reports it", async () => {
    const pipeline = createScriptedPipeline([{ type: "answer", text: "Sunny." }]);
    const template = { name: "orgs/acme/prompts/tone", version: 4, messages: [{ role: "system" as const, template: "You work for Acme. Literal {{{{braces}}." }] };
    const out = await createChatVerb({ pipeline })({ messages: MESSAGES }, testContext({ template }));
    expect(out.message.content).toEqual([{ type: "text", text: "Sunny." }]);
    expect(out.usage.template).toEqual({ name: "orgs/acme/prompts/tone", version: 4, builtin: false });
    const call = pipeline.chatCalls()[0];
    expect(call?.request.messages[0]).toEqual({ role: "system", content: [{ type: "text", text: "You work for Acme. Literal {{braces}}." }] });
    expect(call?.request.messages.slice(1)).toEqual(MESSAGES);
    expect(call?.meta).toMatchObject({ userContentMessages: [1, 2], template: { name: "orgs/acme/prompts/tone", version: 4 } });
  });

  it("rejects a chat template with placeholders (there are no variables to fill)", async () => {
    const template = { name: "prompts/t", version: 1, messages: [{ role: "system" as const, template: "Hello {{name}}" }] };
    const err = await createChatVerb({ pipeline: createScriptedPipeline([]) })({ messages: MESSAGES }, testContext({ template })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
    expect((err as ConnectError).rawMessage).toContain('missing variable "name"');
  });
});

describe("Embed", () => {
  it("passes inputs, dimensions and input type through and reports vectors, dimensions and model", async () => {
    const pipeline = createScriptedPipeline([{ type: "embed", vectors: [[0.1, 0.2], [0.3, 0.4]], model: "embed-small", usage: { inputTokens: 4, outputTokens: 0 }, costMicrosUsd: 1n }]);
    const out = await createEmbedVerb({ pipeline })({ inputs: ["a", "b"], dimensions: 2, inputType: "query" }, testContext());
    expect(out).toMatchObject({ vectors: [[0.1, 0.2], [0.3, 0.4]], dimensions: 2, model: "embed-small" });
    expect(out.usage).toMatchObject({ modelCalls: 1, costMicrosUsd: 1n, tokens: { inputTokens: 4 } });
    expect(pipeline.calls[0]).toMatchObject({ op: "embed", call: { meta: { verb: "embed" }, request: { model: "", inputs: ["a", "b"], dimensions: 2, inputType: "query" } } });
  });
});
