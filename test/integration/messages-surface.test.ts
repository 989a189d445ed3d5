/**
 * The Anthropic-compatible Messages surface (`POST /v1/messages`) end to end, with the official
 * `@anthropic-ai/sdk` as the client, in front of an Anthropic-backed route and an OpenAI-backed one
 * (the cross-provider case): unary text, a tool-use round trip, streams the SDK's helper assembles,
 * the raw SSE event sequence, usage recorded in the ledger once per call, and Anthropic's error
 * envelope for an unknown key, a bad field, a budget and a rate limit.
 */
import { request as httpRequest } from "node:http";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import Anthropic from "@anthropic-ai/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BudgetPeriod } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { TEST_PRICES } from "../../server/limits/money-harness.testing.js";
import { startAnthropicFake } from "../fakes/anthropic-fake.js";
import type { FakeProvider } from "../fakes/fake-types.js";
import { startOpenAIFake } from "../fakes/openai-fake.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { createAppKey, moneyClients, type MoneyClients } from "../support/money.js";

let gw: TestGateway;
let openai: FakeProvider;
let anthropic: FakeProvider;
let admin: MoneyClients;
let sdk: Anthropic;

const BYPASS = { headers: { "x-switchboard-cache": "bypass" } };
const sdkFor = (apiKey: string, maxRetries = 0) => new Anthropic({ apiKey, baseURL: gw.url, maxRetries });
const user = (text: string): Anthropic.MessageParam[] => [{ role: "user", content: text }];
const sentTo = (fake: FakeProvider, i = 0) => fake.requests()[i]!.body as Record<string, unknown>;

beforeAll(async () => {
  [openai, anthropic] = await Promise.all([startOpenAIFake(), startAnthropicFake()]);
  gw = await startTestGateway({
    baseUrls: { openai: `${openai.url}/v1`, anthropic: anthropic.url },
    credentials: new Map([
      ["credentials/openai", "sk-openai-test"],
      ["credentials/anthropic", "sk-ant-test"],
    ]),
    prices: TEST_PRICES,
  });
  admin = moneyClients(gw.url, gw.adminKey);
  await admin.routes.createRoute({ routeId: "claude", route: { targets: [{ provider: "anthropic", model: "claude-haiku-4-5", credential: "credentials/anthropic" }], retry: { maxAttempts: 1 } } });
  await admin.routes.createRoute({ routeId: "gpt", route: { targets: [{ provider: "openai", model: "gpt-test", credential: "credentials/openai" }], retry: { maxAttempts: 1 } } });
  await gw.models.resolver.refresh();
  sdk = sdkFor(gw.adminKey);
});
afterAll(async () => {
  await gw?.close();
  await Promise.all([openai?.close(), anthropic?.close()]);
});

/** A raw exchange with the gateway (what the SDK does not show: the SSE lines as sent). */
function raw(path: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${gw.url}${path}`, { method: "POST", headers: { "x-api-key": gw.adminKey, "content-type": "application/json", ...headers } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** The `event:` names of an SSE body, in order. */
const eventNames = (body: string) => body.split("\n\n").filter((e) => e !== "").map((e) => /^event: (\S+)\n/.exec(e)?.[1]);

describe("models through the Anthropic SDK", () => {
  it("lists the routes and reads one as Anthropic's model objects (the same answer the OpenAI SDK reads)", async () => {
    const ids: string[] = [];
    for await (const model of sdk.models.list()) ids.push(model.id);
    expect(ids).toEqual(expect.arrayContaining(["claude", "gpt"]));
    const one = await sdk.models.retrieve("claude");
    expect(one).toMatchObject({ id: "claude", type: "model", display_name: "claude" });
    expect(Number.isNaN(Date.parse(one.created_at))).toBe(false);
  });
});

describe("messages through the Anthropic SDK", () => {
  it("answers a unary call on a Claude route with Anthropic's Message, its usage and the request id", async () => {
    anthropic.reset();
    anthropic.script({ reply: { text: "Hello from Claude.", usage: { input: 12, output: 4, cachedInput: 3, cacheWrite: 2 } } });
    const { data, response } = await sdk.messages
      .create(
        {
          model: "claude",
          max_tokens: 100,
          system: [{ type: "text", text: "Be brief.", cache_control: { type: "ephemeral" } }],
          messages: user("hi"),
          // Older clients' sampling controls (SDK 1.x's types have none): temperature passes, top_k is dropped.
          ...({ temperature: 0.3, top_k: 5 } as object),
          metadata: { user_id: "end-user-1" },
        },
        { headers: { "x-request-id": "req-msg-1" } },
      )
      .withResponse();
    expect(data).toMatchObject({ type: "message", role: "assistant", model: "claude-haiku-4-5", stop_reason: "end_turn", stop_sequence: null });
    expect(data.id).toMatch(/^msg_/);
    expect(data.content).toEqual([{ type: "text", text: "Hello from Claude." }]);
    // Anthropic's input_tokens leave out the cached and cache-written ones.
    expect(data.usage).toMatchObject({ input_tokens: 7, output_tokens: 4, cache_read_input_tokens: 3, cache_creation_input_tokens: 2 });
    expect(response.headers.get("request-id")).toBe("req-msg-1");
    expect(response.headers.get("x-switchboard-provider")).toBe("anthropic");
    expect(response.headers.get("x-switchboard-route")).toBe("claude");
    const sent = sentTo(anthropic);
    expect(sent).toMatchObject({ model: "claude-haiku-4-5", max_tokens: 100, temperature: 0.3 });
    expect(sent.system).toEqual([{ type: "text", text: "Be brief.", cache_control: { type: "ephemeral" } }]);
    // top_k has no neutral counterpart: dropped.
    expect(sent).not.toHaveProperty("top_k");
  });

  it("answers through an OpenAI-backed route: the system prompt, the turns and max_tokens in OpenAI's terms", async () => {
    openai.reset();
    openai.script({ reply: { text: "Hello from GPT.", usage: { input: 9, output: 3 } } });
    const msg = await sdk.messages.create({ model: "gpt", max_tokens: 64, system: "Be brief.", messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }], stop_sequences: ["END"] }, BYPASS);
    expect(msg.content).toEqual([{ type: "text", text: "Hello from GPT." }]);
    expect(msg.model).toBe("gpt-test");
    expect(msg.usage).toMatchObject({ input_tokens: 9, output_tokens: 3 });
    const sent = sentTo(openai);
    expect(sent.messages).toEqual([
      { role: "system", content: "Be brief." },
      { role: "user", content: "hi" },
    ]);
    expect(sent.max_completion_tokens ?? sent.max_tokens).toBe(64);
    expect(sent.stop).toEqual(["END"]);
  });

  it("round-trips a tool use: tool_use blocks and stop_reason tool_use, then a tool_result answered with text", async () => {
    openai.reset();
    openai.script({ reply: { toolCalls: [{ id: "call_1", name: "get_weather", argumentsJson: '{"city":"Paris"}' }] } }, { reply: { text: "It is sunny." } });
    const tools: Anthropic.Tool[] = [{ name: "get_weather", description: "Weather", input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } }];
    const first = await sdk.messages.create(
      { model: "gpt", max_tokens: 100, messages: user("weather in Paris?"), tools, tool_choice: { type: "tool", name: "get_weather", disable_parallel_tool_use: true } },
      BYPASS,
    );
    expect(first.stop_reason).toBe("tool_use");
    expect(first.content).toEqual([{ type: "tool_use", id: "call_1", name: "get_weather", input: { city: "Paris" } }]);
    const sent = sentTo(openai);
    expect(sent.tool_choice).toEqual({ type: "function", function: { name: "get_weather" } });
    expect(sent.parallel_tool_calls).toBe(false);
    expect(sent.tools).toEqual([{ type: "function", function: expect.objectContaining({ name: "get_weather", parameters: tools[0]!.input_schema }) }]);

    const next = await sdk.messages.create(
      {
        model: "gpt",
        max_tokens: 100,
        tools,
        messages: [
          ...user("weather in Paris?"),
          { role: "assistant", content: first.content },
          { role: "user", content: [{ type: "tool_result", tool_use_id: "call_1", content: [{ type: "text", text: '{"sky":"clear"}' }] }] },
        ],
      },
      BYPASS,
    );
    expect(next.content).toEqual([{ type: "text", text: "It is sunny." }]);
    expect(next.stop_reason).toBe("end_turn");
    const history = (sentTo(openai, 1).messages as Array<Record<string, unknown>>).map((m) => ({ role: m.role, tool_call_id: m.tool_call_id, tool_calls: m.tool_calls }));
    expect(history).toEqual([
      { role: "user", tool_call_id: undefined, tool_calls: undefined },
      { role: "assistant", tool_call_id: undefined, tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }] },
      { role: "tool", tool_call_id: "call_1", tool_calls: undefined },
    ]);
  });

  it("maps thinking to the reasoning effort, which the Anthropic adapter sends back as a budget; the answer has no thinking block", async () => {
    anthropic.reset();
    anthropic.script({ reply: { text: "Thought it through.", thinking: "step one step two" } });
    const msg = await sdk.messages.create({ model: "claude", max_tokens: 8000, thinking: { type: "enabled", budget_tokens: 3000 }, messages: user("think") }, BYPASS);
    expect(msg.content).toEqual([{ type: "text", text: "Thought it through." }]);
    // 3,000 is the medium effort, which the adapter asks for as 2,048.
    expect(sentTo(anthropic).thinking).toEqual({ type: "enabled", budget_tokens: 2048 });
  });

  it("streams text the SDK's stream helper assembles into the same Message", async () => {
    anthropic.reset();
    anthropic.script({ reply: { text: "one two three four", usage: { input: 5, output: 4 } } });
    const stream = sdk.messages.stream({ model: "claude", max_tokens: 100, messages: user("count") }, BYPASS);
    let text = "";
    stream.on("text", (t) => (text += t));
    const final = await stream.finalMessage();
    expect(text).toBe("one two three four");
    expect(final).toMatchObject({ type: "message", role: "assistant", model: "claude-haiku-4-5", stop_reason: "end_turn", stop_sequence: null });
    expect(final.id).toMatch(/^msg_/);
    expect(final.content).toEqual([{ type: "text", text: "one two three four" }]);
    expect(final.usage).toMatchObject({ input_tokens: 5, output_tokens: 4 });
  });

  it("streams tool calls from an OpenAI-backed route as tool_use blocks with input_json_delta", async () => {
    openai.reset();
    openai.script({
      reply: {
        text: "Let me check.",
        toolCalls: [
          { id: "call_a", name: "get_weather", argumentsJson: '{"city":"Paris","unit":"celsius"}' },
          { id: "call_b", name: "get_time", argumentsJson: '{"zone":"Europe/Paris"}' },
        ],
      },
    });
    const final = await sdk.messages
      .stream(
        {
          model: "gpt",
          max_tokens: 100,
          messages: user("weather and time"),
          tools: [
            { name: "get_weather", input_schema: { type: "object" } },
            { name: "get_time", input_schema: { type: "object" } },
          ],
        },
        BYPASS,
      )
      .finalMessage();
    expect(final.stop_reason).toBe("tool_use");
    expect(final.content).toEqual([
      { type: "text", text: "Let me check." },
      { type: "tool_use", id: "call_a", name: "get_weather", input: { city: "Paris", unit: "celsius" } },
      { type: "tool_use", id: "call_b", name: "get_time", input: { zone: "Europe/Paris" } },
    ]);
  });

  it("sends the exact SSE event sequence, with event: lines, and ends a stream that fails after content with an error event", async () => {
    anthropic.reset();
    anthropic.script({ reply: { text: "alpha beta" } });
    const ok = await raw("/v1/messages", JSON.stringify({ model: "claude", max_tokens: 50, stream: true, messages: user("x") }), BYPASS.headers);
    expect(ok.status).toBe(200);
    expect(ok.headers["content-type"]).toContain("text/event-stream");
    expect(ok.headers["request-id"]).toEqual(expect.any(String));
    const names = eventNames(ok.body);
    expect(names.slice(0, 3)).toEqual(["message_start", "content_block_start", "ping"]);
    expect(names.slice(-3)).toEqual(["content_block_stop", "message_delta", "message_stop"]);
    expect(names.slice(3, -3).every((n) => n === "content_block_delta")).toBe(true);
    for (const e of ok.body.split("\n\n").filter((x) => x !== "")) {
      const [event, data] = e.split("\n");
      expect(JSON.parse(data!.slice("data: ".length)).type).toBe(event!.slice("event: ".length));
    }

    openai.reset();
    openai.script({ fault: { kind: "mid_stream_error" }, reply: { text: "one two three four five six" } });
    const cut = await raw("/v1/messages", JSON.stringify({ model: "gpt", max_tokens: 50, stream: true, messages: user("x") }), BYPASS.headers);
    const cutNames = eventNames(cut.body);
    expect(cutNames[0]).toBe("message_start");
    expect(cutNames.at(-1)).toBe("error");
    expect(cutNames).not.toContain("message_stop");
    const last = cut.body.split("\n\n").filter((x) => x !== "").at(-1)!;
    expect(JSON.parse(last.split("\n")[1]!.slice("data: ".length))).toMatchObject({ type: "error", error: { type: "overloaded_error" } });
  });

  it("records each call's usage in the ledger once, attributed to metadata.user_id", async () => {
    const key = await createAppKey(admin, "msgs");
    const start = new Date(Date.now() - 60_000);
    const client = sdkFor(key.secret);
    openai.reset();
    openai.script({ reply: { text: "a b c", usage: { input: 10, output: 3 } } }, { reply: { text: "d e", usage: { input: 20, output: 2 } } });
    await client.messages.create({ model: "gpt", max_tokens: 20, messages: user("one"), metadata: { user_id: "alice" } }, BYPASS);
    await client.messages.stream({ model: "gpt", max_tokens: 20, messages: user("two"), metadata: { user_id: "alice" } }, BYPASS).finalMessage();
    const window = { startTime: timestampFromDate(start), endTime: timestampFromDate(new Date(Date.now() + 60_000)) };
    const report = async () => {
      await gw.money.ledger.flush();
      return admin.usage.queryUsage({ parent: "orgs/msgs", ...window, filter: { tags: { end_user: "alice" } } });
    };
    const deadline = Date.now() + 10_000;
    let res = await report();
    while ((res.totals?.requests ?? 0n) < 2n && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      res = await report();
    }
    await new Promise((r) => setTimeout(r, 200));
    res = await report();
    expect(res.totals?.requests).toBe(2n);
    expect(res.totals?.inputTokens).toBe(30n);
    expect(res.totals?.outputTokens).toBe(5n);
    expect(openai.requests()).toHaveLength(2);
  });
});

describe("count_tokens and the access-log line", () => {
  it("counts a request's input tokens with the gateway's estimate, calling no provider (Claude Code's ?beta=true too)", async () => {
    openai.reset();
    const short = await sdk.messages.countTokens({ model: "gpt", messages: user("hi") });
    const long = await sdk.messages.countTokens({ model: "gpt", system: "Be brief.", messages: user("a much longer question ".repeat(20)), tools: [{ name: "f", input_schema: { type: "object" } }] });
    expect(short.input_tokens).toBeGreaterThan(0);
    expect(long.input_tokens).toBeGreaterThan(short.input_tokens + 50);
    const beta = await raw("/v1/messages/count_tokens?beta=true", JSON.stringify({ model: "gpt", messages: user("hi") }));
    expect(JSON.parse(beta.body)).toEqual({ input_tokens: short.input_tokens });
    expect(openai.requests()).toHaveLength(0);
    const unknown = await sdk.messages.countTokens({ model: "no-such-route", messages: user("hi") }).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(Anthropic.NotFoundError);
  });

  it("writes one access-log line per call, as the OpenAI surface's, with protocol anthropic", async () => {
    openai.reset();
    openai.script({ reply: { text: "logged", usage: { input: 6, output: 1 } } });
    await sdk.messages.create({ model: "gpt", max_tokens: 10, messages: user("hi") }, { headers: { ...BYPASS.headers, "x-request-id": "req-msg-log" } });
    await expect.poll(() => gw.log.lines().filter((l) => l.msg === "rpc" && l.requestId === "req-msg-log").length).toBe(1);
    const line = gw.log.lines().find((l) => l.msg === "rpc" && l.requestId === "req-msg-log")!;
    expect(line).toMatchObject({ procedure: "POST /v1/messages", protocol: "anthropic", code: "ok", status: 200, verb: "chat", route: "gpt", provider: "openai", inputTokens: 6, outputTokens: 1 });
  });
});

describe("errors in Anthropic's envelope", () => {
  it("an unknown key: 401 AuthenticationError, over x-api-key and over a bearer token", async () => {
    const err = await sdkFor("sb-not-a-key").messages.create({ model: "gpt", max_tokens: 10, messages: user("hi") }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((err as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ type: "error", error: { type: "authentication_error" } });
    const bearer = await new Anthropic({ apiKey: null, authToken: "sb-not-a-key", baseURL: gw.url, maxRetries: 0 }).messages
      .create({ model: "gpt", max_tokens: 10, messages: user("hi") })
      .catch((e: unknown) => e);
    expect(bearer).toBeInstanceOf(Anthropic.AuthenticationError);
    // And a good bearer token is accepted.
    openai.reset();
    const ok = await new Anthropic({ apiKey: null, authToken: gw.adminKey, baseURL: gw.url, maxRetries: 0 }).messages.create({ model: "gpt", max_tokens: 10, messages: user("hi") }, BYPASS);
    expect(ok.content[0]).toMatchObject({ type: "text" });
  });

  it("a bad request: 400 BadRequestError whose message names the field; an unknown route: 404 NotFoundError", async () => {
    const missing = await raw("/v1/messages", JSON.stringify({ model: "gpt", messages: user("hi") }));
    expect(missing.status).toBe(400);
    expect(JSON.parse(missing.body)).toMatchObject({ type: "error", error: { type: "invalid_request_error", message: expect.stringContaining("max_tokens") } });
    expect(missing.headers["request-id"]).toEqual(expect.any(String));

    const bad = await sdk.messages
      .create({ model: "gpt", max_tokens: 10, messages: [{ role: "user", content: [{ type: "text", text: "hi" }, { type: "video" } as unknown as Anthropic.TextBlockParam] }] })
      .catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(Anthropic.BadRequestError);
    expect((bad as Error).message).toContain("messages[0].content[1].type");

    const unknown = await sdk.messages.create({ model: "no-such-route", max_tokens: 10, messages: user("hi") }).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(Anthropic.NotFoundError);
    expect((unknown as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ error: { type: "not_found_error" } });
  });

  it("a budget cap and a rate limit: 429 RateLimitError with retry-after, nothing sent to the provider", async () => {
    const capped = await createAppKey(admin, "msgs-capped");
    await admin.budgets.createBudget({ parent: "orgs/msgs-capped", budgetId: "tiny", budget: { target: capped.name, limitMicrosUsd: 1n, period: BudgetPeriod.DAILY } });
    const limited = await createAppKey(admin, "msgs-limited");
    await admin.budgets.createRateLimit({ parent: "orgs/msgs-limited", rateLimitId: "rpm", rateLimit: { target: limited.name, requestsPerMinute: 1n } });
    await gw.money.catalog.refresh();
    openai.reset();

    const budget = await sdkFor(capped.secret, 2).messages.create({ model: "gpt", max_tokens: 100, messages: user("hi") }).catch((e: unknown) => e);
    expect(budget).toBeInstanceOf(Anthropic.RateLimitError);
    const b = budget as InstanceType<typeof Anthropic.RateLimitError>;
    expect(b.error).toMatchObject({ type: "error", error: { type: "rate_limit_error" } });
    expect(Number(b.headers?.get("retry-after"))).toBeGreaterThan(0);
    expect(openai.requests()).toHaveLength(0);

    await sdkFor(limited.secret).messages.create({ model: "gpt", max_tokens: 10, messages: user("one") }, BYPASS);
    const rate = await sdkFor(limited.secret).messages.stream({ model: "gpt", max_tokens: 10, messages: user("two") }, BYPASS).finalMessage().catch((e: unknown) => e);
    expect(rate).toBeInstanceOf(Anthropic.RateLimitError);
    expect(Number((rate as InstanceType<typeof Anthropic.RateLimitError>).headers?.get("retry-after"))).toBeGreaterThan(0);
    expect(openai.requests()).toHaveLength(1);
  });
});
