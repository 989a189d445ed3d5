/**
 * `/v1/chat/completions` with `response_format` json_schema or json_object on a Claude route: no
 * longer refused as capability_missing, answered with the JSON as the message content and
 * finish_reason "stop", unary and streamed (the adapter's synthetic tool never shows).
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FakeProvider } from "../fakes/fake-types.js";
import type { TestGateway } from "../support/gateway.js";
import { moneyClients } from "../support/money.js";
import { startProviderFakesGateway, type ProviderFakesGateway } from "../support/provider-fakes-gateway.js";

let rig: ProviderFakesGateway;
let gw: TestGateway;
let anthropic: FakeProvider;
let sdk: OpenAI;

const schema = { type: "object", properties: { city: { type: "string" }, population: { type: "integer" } }, required: ["city", "population"] };
const jsonSchema = { type: "json_schema" as const, json_schema: { name: "city", schema, strict: true } };
const BYPASS = { headers: { "x-switchboard-cache": "bypass" } };

beforeAll(async () => {
  rig = await startProviderFakesGateway();
  ({ gw } = rig);
  anthropic = rig.fakes.anthropic;
  await moneyClients(gw.url, gw.adminKey).routes.createRoute({
    routeId: "claude",
    route: { targets: [{ provider: "anthropic", model: "claude-haiku-4-5", credential: "credentials/anthropic" }], retry: { maxAttempts: 1 } },
  });
  await gw.models.resolver.refresh();
  sdk = new OpenAI({ apiKey: gw.adminKey, baseURL: `${gw.url}/v1`, maxRetries: 0 });
});
afterAll(async () => {
  await rig?.close();
});

describe("structured output on a Claude route through /v1/chat/completions", () => {
  it("answers a json_schema request with the JSON as content and finish_reason stop", async () => {
    anthropic.reset();
    anthropic.script({ reply: { text: '{"city":"Oslo","population":709000}' } });
    const res = await sdk.chat.completions.create({ model: "claude", messages: [{ role: "user", content: "Oslo?" }], response_format: jsonSchema }, BYPASS);
    expect(JSON.parse(res.choices[0]!.message.content!)).toEqual({ city: "Oslo", population: 709000 });
    expect(res.choices[0]!.finish_reason).toBe("stop");
    expect(res.choices[0]!.message.tool_calls ?? []).toEqual([]);
    const body = anthropic.requests()[0]!.body as { tools: Array<{ input_schema: unknown }>; tool_choice: { type: string } };
    expect(body.tools.map((t) => t.input_schema)).toEqual([schema]);
    expect(body.tool_choice.type).toBe("tool");
  });

  it("streams a json_object answer as content deltas that concatenate to valid JSON", async () => {
    anthropic.reset();
    const answer = { city: "Bergen", population: 291000, note: "rain, mostly; several pieces of JSON" };
    anthropic.script({ reply: { text: JSON.stringify(answer) } });
    const stream = await sdk.chat.completions.create(
      { model: "claude", messages: [{ role: "user", content: "Bergen?" }], response_format: { type: "json_object" }, stream: true },
      BYPASS,
    );
    let content = "";
    let deltas = 0;
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (choice?.delta.content) {
        content += choice.delta.content;
        deltas++;
      }
      expect(choice?.delta.tool_calls).toBeUndefined();
      finish = choice?.finish_reason ?? finish;
    }
    expect(JSON.parse(content)).toEqual(answer);
    expect(deltas).toBeGreaterThan(1);
    expect(finish).toBe("stop");
  });
});
