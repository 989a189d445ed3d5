/**
 * The OpenAI-compatible surface end to end, with the official `openai` SDK as the client: unary
 * and streamed chat (include_usage, tools), embeddings (float and base64), /v1/models, the error
 * envelope, and each policy behaving the same on the Connect surface and on this one.
 */
import { request as httpRequest } from "node:http";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { ReasoningEffort, Verb } from "../../gen/ts/switchboard/v1/common_pb.js";
import { PromptService } from "../../gen/ts/switchboard/v1/prompt_service_pb.js";
import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import { RouteService } from "../../gen/ts/switchboard/v1/route_service_pb.js";
import { startOpenAIFake } from "../fakes/openai-fake.js";
import type { FakeProvider } from "../fakes/fake-types.js";
import { clientsFor, type KeyedClients } from "../support/clients.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";

let gw: TestGateway;
let fake: FakeProvider;
let admin: KeyedClients;
let sdk: OpenAI;
let prompts: ReturnType<typeof createClient<typeof PromptService>>;

const openaiTarget = (model: string, priority = 0) => ({ provider: "openai", model, credential: "credentials/openai", priority });
const once = { maxAttempts: 1 };

beforeAll(async () => {
  fake = await startOpenAIFake();
  gw = await startTestGateway({ baseUrls: { openai: `${fake.url}/v1` }, credentials: new Map([["credentials/openai", "sk-test"]]) });
  admin = clientsFor(gw.url, gw.adminKey);
  const transport = createGrpcTransport({ baseUrl: gw.url, interceptors: [(next) => (req) => (req.header.set("authorization", `Bearer ${gw.adminKey}`), next(req))] });
  const rs = createClient(RouteService, transport);
  prompts = createClient(PromptService, transport);
  await rs.createRoute({ routeId: "ext", route: { targets: [openaiTarget("gpt-4o-mini")], retry: once } });
  await rs.createRoute({ routeId: "backup", route: { targets: [openaiTarget("gpt-primary", 0), openaiTarget("gpt-secondary", 1)], retry: once } });
  await rs.createRoute({ routeId: "stalls", route: { targets: [{ ...openaiTarget("gpt-4o-mini"), idleTimeout: durationFromMs(300) }], retry: once } });
  await rs.createRoute({ routeId: "emb", route: { targets: [openaiTarget("text-embedding-3-small")] } });
  await rs.createRoute({ routeId: "templated", route: { targets: [openaiTarget("gpt-4o-mini")] } });
  await rs.createRoute({ routeId: "cached", route: { targets: [openaiTarget("gpt-4o-mini")], cache: { ttl: durationFromMs(60_000) } } });
  await rs.createRoute({ routeId: "reasoner", route: { targets: [openaiTarget("gpt-5-mini")], retry: once } });
  await gw.models.resolver.refresh();
  sdk = new OpenAI({ apiKey: gw.adminKey, baseURL: `${gw.url}/v1`, maxRetries: 0 });
});
afterAll(async () => {
  await gw?.close();
  await fake?.close();
});

const user = (text: string) => [{ role: "user" as const, content: text }];

/** A key in the admin's org with SCOPE_INVOKE and the given route allow-list. */
async function createKey(keyId: string, allowedRoutes: string[] = []): Promise<{ name: string; secret: string }> {
  const res = await admin.keys.createKey({ parent: "orgs/system/teams/admins", keyId, key: { displayName: keyId, scopes: [Scope.INVOKE], allowedRoutes } });
  return { name: res.key!.name, secret: res.secret };
}

/** A raw HTTP exchange with the gateway, trailers included (what the SDK does not show). */
function raw(path: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string; trailers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${gw.url}${path}`, { method: "POST", headers: { authorization: `Bearer ${gw.adminKey}`, "content-type": "application/json", ...headers } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, trailers: res.trailers }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("chat completions through the openai SDK", () => {
  it("answers a unary call with OpenAI's object, the usage extras as headers, and the request id echoed", async () => {
    fake.reset();
    fake.script({ reply: { text: "Hello from the fake.", usage: { input: 7, output: 4, cachedInput: 2 } } });
    const { data, response } = await sdk.chat.completions
      .create(
        { model: "ext", messages: user("hi"), max_completion_tokens: 50, temperature: 0.3, top_p: 0.9, stop: ["END"], seed: 7, user: "end-user-1" },
        { headers: { "x-request-id": "req-openai-1" } },
      )
      .withResponse();
    expect(data.object).toBe("chat.completion");
    expect(data.id).toMatch(/^chatcmpl-/);
    expect(data.model).toBe("gpt-4o-mini");
    expect(data.choices).toEqual([{ index: 0, message: { role: "assistant", content: "Hello from the fake.", refusal: null }, logprobs: null, finish_reason: "stop" }]);
    expect(data.usage).toEqual({ prompt_tokens: 7, completion_tokens: 4, total_tokens: 11, prompt_tokens_details: { cached_tokens: 2 }, completion_tokens_details: { reasoning_tokens: 0 } });
    expect(response.headers.get("x-request-id")).toBe("req-openai-1");
    expect(response.headers.get("x-switchboard-provider")).toBe("openai");
    expect(response.headers.get("x-switchboard-attempts")).toBe("1");
    // The route has no cache TTL: the cache stage lets the call pass.
    expect(response.headers.get("x-switchboard-cache")).toMatch(/^(bypass|miss)$/);
    expect(response.headers.get("x-switchboard-cost-micros-usd")).toMatch(/^\d+$/);
    expect(response.headers.get("x-switchboard-route")).toBe("ext");
    const sent = fake.requests()[0]!.body as Record<string, unknown>;
    expect(sent).toMatchObject({ model: "gpt-4o-mini", temperature: 0.3, top_p: 0.9, stop: ["END"], seed: 7 });
    expect(sent.max_completion_tokens ?? sent.max_tokens).toBe(50);
  });

  it("streams chunks with include_usage: usage null on every chunk, then one usage chunk with empty choices, then [DONE]", async () => {
    fake.reset();
    fake.script({ reply: { text: "one two three four", usage: { input: 3, output: 4 } } });
    const stream = await sdk.chat.completions.create({ model: "ext", messages: user("count"), stream: true, stream_options: { include_usage: true } });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const c of stream) chunks.push(c);
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");
    expect(text).toBe("one two three four");
    expect(chunks[0]!.choices[0]!.delta.role).toBe("assistant");
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toMatchObject({ prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 });
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
    expect(chunks.at(-2)!.choices[0]!.finish_reason).toBe("stop");
  });

  it("ends the raw stream with [DONE] and sends the usage extras as trailers", async () => {
    fake.reset();
    fake.script({ reply: { text: "alpha beta" } });
    const res = await raw("/v1/chat/completions", JSON.stringify({ model: "ext", messages: user("x"), stream: true }));
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toContain("text/event-stream");
    const events = res.body.split("\n\n").filter((e) => e !== "");
    expect(events.at(-1)).toBe("data: [DONE]");
    expect(events.every((e) => e.startsWith("data: "))).toBe(true);
    expect(res.body).not.toContain('"usage"');
    expect(res.trailers).toMatchObject({ "x-switchboard-provider": "openai", "x-switchboard-attempts": "1" });
    expect(res.trailers["x-switchboard-cache"]).toMatch(/^(bypass|miss)$/);
  });

  it("returns tool calls on a unary call, with tools and tool_choice sent to the provider", async () => {
    fake.reset();
    fake.script({ reply: { toolCalls: [{ id: "call_1", name: "get_weather", argumentsJson: '{"city":"Paris"}' }] } });
    const tools: OpenAI.ChatCompletionTool[] = [
      { type: "function", function: { name: "get_weather", description: "Weather", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } },
    ];
    const res = await sdk.chat.completions.create({
      model: "ext",
      messages: user("weather in Paris?"),
      tools,
      tool_choice: { type: "function", function: { name: "get_weather" } },
      parallel_tool_calls: false,
    });
    expect(res.choices[0]!.finish_reason).toBe("tool_calls");
    expect(res.choices[0]!.message.content).toBeNull();
    expect(res.choices[0]!.message.tool_calls).toEqual([{ id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }]);
    const sent = fake.requests()[0]!.body as Record<string, unknown>;
    expect(sent.tool_choice).toEqual({ type: "function", function: { name: "get_weather" } });
    expect(sent.parallel_tool_calls).toBe(false);
    expect((sent.tools as unknown[]).length).toBe(1);

    // The tool's answer goes back as a tool message and gets a text answer.
    fake.script({ reply: { text: "It is sunny." } });
    const next = await sdk.chat.completions.create({
      model: "ext",
      messages: [...user("weather in Paris?"), res.choices[0]!.message, { role: "tool", tool_call_id: "call_1", content: '{"sky":"clear"}' }],
      tools,
    });
    expect(next.choices[0]!.message.content).toBe("It is sunny.");
    const history = (fake.requests()[1]!.body as { messages: Array<Record<string, unknown>> }).messages;
    expect(history.map((m) => m.role)).toEqual(["user", "assistant", "tool"]);
  });

  it("streams tool calls as indexed deltas the SDK's stream helper assembles", async () => {
    fake.reset();
    fake.script({
      reply: {
        toolCalls: [
          { id: "call_a", name: "get_weather", argumentsJson: '{"city":"Paris","unit":"celsius"}' },
          { id: "call_b", name: "get_time", argumentsJson: '{"zone":"Europe/Paris"}' },
        ],
      },
    });
    const runner = sdk.chat.completions.stream({
      model: "ext",
      messages: user("weather and time"),
      tools: [
        { type: "function", function: { name: "get_weather", parameters: { type: "object" } } },
        { type: "function", function: { name: "get_time", parameters: { type: "object" } } },
      ],
      stream_options: { include_usage: true },
    });
    const final = await runner.finalChatCompletion();
    expect(final.choices[0]!.finish_reason).toBe("tool_calls");
    expect(final.choices[0]!.message.tool_calls).toEqual([
      expect.objectContaining({ id: "call_a", type: "function", function: expect.objectContaining({ name: "get_weather", arguments: '{"city":"Paris","unit":"celsius"}' }) }),
      expect.objectContaining({ id: "call_b", type: "function", function: expect.objectContaining({ name: "get_time", arguments: '{"zone":"Europe/Paris"}' }) }),
    ]);
    expect(final.usage?.completion_tokens).toBeGreaterThan(0);
  });

  it("passes response_format json_schema and json_object through to the provider", async () => {
    fake.reset();
    fake.script({ reply: { text: '{"n":1}' } }, { reply: { text: '{"a":"b"}' } });
    const schema = { type: "object", properties: { n: { type: "integer" } }, required: ["n"], additionalProperties: false };
    const res = await sdk.chat.completions.create({ model: "ext", messages: user("n?"), response_format: { type: "json_schema", json_schema: { name: "n", schema, strict: true } } });
    expect(JSON.parse(res.choices[0]!.message.content!)).toEqual({ n: 1 });
    await sdk.chat.completions.create({ model: "ext", messages: user("json"), response_format: { type: "json_object" } });
    const [first, second] = fake.requests().map((r) => r.body as Record<string, unknown>);
    expect(first!.response_format).toEqual({ type: "json_schema", json_schema: { name: "n", schema, strict: true } });
    expect(second!.response_format).toEqual({ type: "json_object" });
  });

  it("ends a stream that fails after content with an error event, never [DONE]", async () => {
    fake.reset();
    fake.script({ fault: { kind: "mid_stream_error" }, reply: { text: "one two three four five six" } });
    const stream = await sdk.chat.completions.create({ model: "ext", messages: user("x"), stream: true });
    let text = "";
    const failure = await (async () => {
      for await (const c of stream) text += c.choices[0]?.delta.content ?? "";
    })().catch((e: unknown) => e);
    expect(text.length).toBeGreaterThan(0);
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    expect((failure as InstanceType<typeof OpenAI.APIError>).error).toMatchObject({ type: "server_error", code: "unavailable" });

    fake.script({ fault: { kind: "cut" }, reply: { text: "one two three four five six seven eight" } });
    const res = await raw("/v1/chat/completions", JSON.stringify({ model: "ext", messages: user("x"), stream: true }));
    const events = res.body.split("\n\n").filter((e) => e !== "");
    expect(events.at(-1)).toMatch(/^data: \{"error":\{"message":/);
    expect(res.body).not.toContain("[DONE]");
  });

  it("cancels the provider call when the client goes away mid-stream", async () => {
    fake.reset();
    fake.script({ fault: { kind: "slow_drip", delayMs: 50 }, reply: { text: Array.from({ length: 60 }, (_, i) => `word${i}`).join(" ") } });
    const stream = await sdk.chat.completions.create({ model: "ext", messages: user("long story"), stream: true });
    for await (const _ of stream) break; // leaving the loop aborts the request
    await expect.poll(() => fake.requests()[0]?.abortedAt, { timeout: 5_000 }).toBeDefined();
  });

  it("answers a stream that fails before any content with a plain HTTP error", async () => {
    fake.reset();
    fake.script({ fault: { kind: "status", status: 500 } });
    const err = await sdk.chat.completions.create({ model: "ext", messages: user("x"), stream: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
  });
});

describe("the access-log line of an OpenAI-surface call", () => {
  /** The access-log line of a request id (written once the answer or stream has ended). */
  const accessLine = async (requestId: string) => {
    await expect.poll(() => gw.log.lines().filter((l) => l.msg === "rpc" && l.requestId === requestId).length).toBe(1);
    return gw.log.lines().find((l) => l.msg === "rpc" && l.requestId === requestId)!;
  };

  it("carries what a Connect RPC's line carries: caller, verb, route, provider, model, tokens, cost, cache status, attempts", async () => {
    fake.reset();
    fake.script({ reply: { text: "logged answer", usage: { input: 9, output: 3 } } });
    const { response } = await sdk.chat.completions.create({ model: "ext", messages: user("hi") }, { headers: { "x-request-id": "req-log-unary" } }).withResponse();
    const line = await accessLine("req-log-unary");
    expect(line).toMatchObject({
      procedure: "POST /v1/chat/completions",
      protocol: "openai",
      code: "ok",
      status: 200,
      orgId: expect.any(String),
      verb: "chat",
      route: "ext",
      provider: "openai",
      model: "gpt-4o-mini",
      inputTokens: 9,
      outputTokens: 3,
      costMicrosUsd: Number(response.headers.get("x-switchboard-cost-micros-usd")),
      attempts: 1,
      fallbacks: 0,
      modelCalls: 1,
    });
    expect(typeof line.keyId).toBe("string");
    expect(line.cacheStatus).toMatch(/^(bypass|miss)$/);
    expect(JSON.stringify(line)).not.toContain("logged answer");
  });

  it("for a stream: its time to first token, its tokens and how it ended; a stream cut mid-way reports upstream_error and what it billed", async () => {
    fake.reset();
    fake.script({ reply: { text: "one two three", usage: { input: 4, output: 3 } } });
    const stream = await sdk.chat.completions.create({ model: "ext", messages: user("count"), stream: true }, { headers: { "x-request-id": "req-log-stream" } });
    for await (const _ of stream);
    const line = await accessLine("req-log-stream");
    expect(line).toMatchObject({ verb: "chat_stream", code: "ok", status: 200, route: "ext", inputTokens: 4, outputTokens: 3, terminal: "completed", attempts: 1 });
    expect(line.timeToFirstTokenMs).toBeGreaterThan(0);
    expect(line.timeToFirstTokenMs as number).toBeLessThanOrEqual(line.durationMs as number);

    fake.script({ fault: { kind: "mid_stream_error" }, reply: { text: "one two three four five six" } });
    await raw("/v1/chat/completions", JSON.stringify({ model: "ext", messages: user("x"), stream: true }), { "x-request-id": "req-log-cut" });
    const cut = await accessLine("req-log-cut");
    // The HTTP status sent (the stream had begun: 200); the line is a warning all the same.
    expect(cut).toMatchObject({ verb: "chat_stream", code: "unavailable", status: 200, level: "warn", terminal: "upstream_error", attempts: 1 });
    // Billed: the tokens of the cut attempt (estimated), priced (a few tokens of gpt-4o-mini round to 0 µUSD).
    expect(cut.outputTokens).toBeGreaterThan(0);
    expect(cut.costMicrosUsd).toEqual(expect.any(Number));
    expect(cut.timeToFirstTokenMs).toBeGreaterThan(0);
  });

  it("for a stream the idle timer cut after content: the error event, no [DONE], and terminal truncated as on Connect", async () => {
    fake.reset();
    fake.script({ reply: { toolCalls: [{ name: "lookup", argumentsJson: '{"q":"weather"}' }] }, fault: { kind: "stall_after_first_chunk" } });
    const res = await raw("/v1/chat/completions", JSON.stringify({ model: "stalls", messages: user("x"), stream: true }), { "x-request-id": "req-log-idle" });
    const events = res.body.split("\n\n").filter((e) => e !== "");
    expect(events.length).toBeGreaterThan(1);
    expect(res.body).not.toContain("[DONE]");
    expect(res.body).not.toContain('"finish_reason":"');
    const last = JSON.parse(events.at(-1)!.slice("data: ".length)) as { error: { message: string; type: string; code: string } };
    expect(last.error).toMatchObject({ type: "server_error", code: "deadline_exceeded" });
    expect(last.error.message).toContain("the gateway cut the stream from openai/gpt-4o-mini after it started: the target's stream was idle for 300 ms");
    const line = await accessLine("req-log-idle");
    expect(line).toMatchObject({ verb: "chat_stream", code: "deadline_exceeded", status: 200, terminal: "truncated", attempts: 1 });
  });

  it("for embeddings, and for a refusal before dispatch (the error, no usage)", async () => {
    fake.reset();
    await sdk.embeddings.create({ model: "emb", input: ["alpha"], encoding_format: "float", dimensions: 8 }, { headers: { "x-request-id": "req-log-embed" } });
    expect(await accessLine("req-log-embed")).toMatchObject({ verb: "embed", route: "emb", code: "ok", modelCalls: 1, attempts: 1 });
    await sdk.chat.completions.create({ model: "no-such-route", messages: user("x") }, { headers: { "x-request-id": "req-log-404" } }).catch(() => undefined);
    const refused = await accessLine("req-log-404");
    expect(refused).toMatchObject({ code: "not_found", status: 404, orgId: expect.any(String) });
    expect(refused.error).toContain("no-such-route");
    expect(refused.route).toBeUndefined();
  });
});

describe("embeddings and models through the openai SDK", () => {
  it("embeds a string and an array, as floats and as base64 the SDK decodes", async () => {
    fake.reset();
    const floats = await sdk.embeddings.create({ model: "emb", input: ["alpha", "beta"], encoding_format: "float", dimensions: 8 });
    expect(floats.object).toBe("list");
    expect(floats.data.map((d) => d.index)).toEqual([0, 1]);
    expect(floats.data[0]!.embedding).toHaveLength(8);
    expect(floats.usage.prompt_tokens).toBeGreaterThan(0);
    expect(floats.model).toBe("text-embedding-3-small");
    // The SDK asks for base64 by default and decodes it to floats itself.
    const decoded = await sdk.embeddings.create({ model: "emb", input: ["alpha", "beta"], dimensions: 8 });
    decoded.data.forEach((d, i) => d.embedding.forEach((x, j) => expect(x).toBeCloseTo(floats.data[i]!.embedding[j]!, 5)));
    const raw64 = await sdk.embeddings.create({ model: "emb", input: "alpha", encoding_format: "base64", dimensions: 8 });
    expect(typeof raw64.data[0]!.embedding).toBe("string");
    expect((fake.requests()[0]!.body as Record<string, unknown>).dimensions).toBe(8);
  });

  it("lists the routes a key may use as models, and retrieves one", async () => {
    const all = await sdk.models.list();
    expect(all.data.map((m) => m.id)).toEqual(expect.arrayContaining(["backup", "emb", "ext"]));
    expect(all.data[0]).toMatchObject({ object: "model", owned_by: "switchboard" });
    const limited = await createKey("models-only-ext", ["ext"]);
    const limitedSdk = new OpenAI({ apiKey: limited.secret, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    expect((await limitedSdk.models.list()).data.map((m) => m.id)).toEqual(["ext"]);
    expect((await limitedSdk.models.retrieve("ext")).id).toBe("ext");
    await expect(limitedSdk.models.retrieve("backup")).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });
});

describe("errors in OpenAI's envelope", () => {
  it("answers malformed JSON, a bad field, an unknown URL and an oversized body with the right status and envelope", async () => {
    const parse = await raw("/v1/chat/completions", "{not json");
    expect(parse.status).toBe(400);
    expect(JSON.parse(parse.body)).toEqual({ error: expect.objectContaining({ type: "invalid_request_error", param: null, code: "invalid_json" }) });
    expect(parse.headers["x-request-id"]).toBeDefined();

    const bad = await sdk.chat.completions.create({ model: "ext", messages: [] }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
    expect((bad as InstanceType<typeof OpenAI.APIError>).param).toBe("messages");

    const temp = await raw("/v1/chat/completions", JSON.stringify({ model: "ext", messages: user("x"), temperature: 3 }));
    expect(JSON.parse(temp.body).error).toMatchObject({ param: "temperature", code: "invalid_argument" });

    // Valid JSON that is not an object is refused as a body, before any field is read.
    const array = await raw("/v1/chat/completions", JSON.stringify([{ model: "ext" }]));
    expect(array.status).toBe(400);
    expect(JSON.parse(array.body).error).toMatchObject({ type: "invalid_request_error", param: null, code: "invalid_json" });

    // A known path with a method it does not serve: 405, naming the one it does (and `allow`, RFC 9110 §15.5.6).
    const get = await fetch(`${gw.url}/v1/chat/completions`, { headers: { authorization: `Bearer ${gw.adminKey}` } });
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");
    expect(((await get.json()) as { error: { message: string; code: string } }).error).toMatchObject({ code: "method_not_allowed", message: expect.stringContaining("use POST") });

    const unknown = await raw("/v1/completions", "{}");
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.body).error.code).toBe("unknown_url");

    const bigBody = JSON.stringify({ model: "ext", messages: user("x".repeat(5 * 1024 * 1024)) });
    const big = await raw("/v1/chat/completions", bigBody);
    expect(big.status).toBe(413);
    expect(JSON.parse(big.body).error.code).toBe("request_too_large");
    // Without content-length (chunked), the limit applies as the body arrives.
    const chunked = await raw("/v1/chat/completions", bigBody, { "transfer-encoding": "chunked" });
    expect(chunked.status).toBe(413);
  });

  it("leaves Connect's own paths and 404 alone", async () => {
    const res = await fetch(`${gw.url}/nope`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ code: "not_found", message: "no such route" });
  });
});

describe("each policy behaves the same on the Connect surface and the OpenAI surface", () => {
  const chatOverConnect = (clients: KeyedClients, route: string, text = "hi") =>
    clients.capability.chat({ options: { route }, messages: [{ role: Role.USER, content: [{ part: { case: "text", value: text } }] }] });
  const connectCode = (p: Promise<unknown>) => p.then(() => "ok", (e: unknown) => Code[ConnectError.from(e).code]);

  it("a revoked key: Unauthenticated / 401 AuthenticationError", async () => {
    const key = await createKey("to-revoke");
    await admin.keys.revokeKey({ name: key.name });
    expect(await connectCode(chatOverConnect(clientsFor(gw.url, key.secret), "ext"))).toBe("Unauthenticated");
    const err = await new OpenAI({ apiKey: key.secret, baseURL: `${gw.url}/v1`, maxRetries: 0 }).chat.completions.create({ model: "ext", messages: user("hi") }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe("invalid_api_key");
    // No key at all: 401 before the body is even read.
    const none = await raw("/v1/chat/completions", "{not json", { authorization: "" });
    expect(none.status).toBe(401);
    expect(JSON.parse(none.body).error.code).toBe("invalid_api_key");
  });

  it("a route the key may not use: PermissionDenied / 403 PermissionDeniedError", async () => {
    const key = await createKey("only-ext", ["ext"]);
    expect(await connectCode(chatOverConnect(clientsFor(gw.url, key.secret), "backup"))).toBe("PermissionDenied");
    const err = await new OpenAI({ apiKey: key.secret, baseURL: `${gw.url}/v1`, maxRetries: 0 }).chat.completions.create({ model: "backup", messages: user("hi") }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
  });

  it("an unknown route: NotFound / 404 NotFoundError", async () => {
    expect(await connectCode(chatOverConnect(admin, "no-such-route"))).toBe("NotFound");
    const err = await sdk.chat.completions.create({ model: "no-such-route", messages: user("hi") }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe("model_not_found");
    const emb = await sdk.embeddings.create({ model: "no-such-route", input: "x" }).catch((e: unknown) => e);
    expect(emb).toBeInstanceOf(OpenAI.NotFoundError);
  });

  it("a fallback: the first target's 500, the second target's answer, both attempts reported", async () => {
    fake.reset();
    fake.script({ fault: { kind: "status", status: 500 } }, { reply: { text: "from the second target" } });
    const connect = await chatOverConnect(admin, "backup");
    expect(connect.usage?.attempts).toHaveLength(2);
    expect(connect.usage?.fallbacks).toBe(1);

    fake.script({ fault: { kind: "status", status: 500 } }, { reply: { text: "from the second target" } });
    const { data, response } = await sdk.chat.completions.create({ model: "backup", messages: user("hi") }).withResponse();
    expect(data.choices[0]!.message.content).toBe("from the second target");
    expect(data.model).toBe("gpt-secondary");
    expect(response.headers.get("x-switchboard-attempts")).toBe("2");
    expect(fake.requests().map((r) => (r.body as { model: string }).model)).toEqual(["gpt-primary", "gpt-secondary", "gpt-primary", "gpt-secondary"]);
  });

  it("a cache hit: an answer cached through one surface is served to the other", async () => {
    fake.reset();
    fake.script({ reply: { text: "cached answer" } });
    const first = await chatOverConnect(admin, "cached", "what is cached?");
    expect(first.usage?.attempts).toHaveLength(1);
    const { data, response } = await sdk.chat.completions.create({ model: "cached", messages: user("what is cached?") }).withResponse();
    expect(data.choices[0]!.message.content).toBe("cached answer");
    expect(response.headers.get("x-switchboard-cache")).toBe("hit_exact");
    expect(response.headers.get("x-switchboard-attempts")).toBe("0");
    expect(response.headers.get("x-switchboard-cost-micros-usd")).toBe("0");
    // And back: bypassing the cache on request reaches the provider again.
    fake.script({ reply: { text: "fresh answer" } });
    const fresh = await sdk.chat.completions.create({ model: "cached", messages: user("what is cached?") }, { headers: { "x-switchboard-cache": "bypass" } });
    expect(fresh.choices[0]!.message.content).toBe("fresh answer");
    expect(fake.requests()).toHaveLength(2);
  });

  it("a Chat template attached to the route: its messages go before the conversation on both surfaces", async () => {
    await prompts.createPromptTemplate({
      parent: "orgs/system",
      promptId: "house-style",
      template: { verb: Verb.CHAT, attachments: ["routes/templated"] },
      firstVersion: { messages: [{ role: Role.SYSTEM, template: "Answer in the house style." }] },
    });
    await gw.models.prompts.catalog.refresh();
    fake.reset();
    await chatOverConnect(admin, "templated", "style?");
    await sdk.chat.completions.create({ model: "templated", messages: user("style?") });
    const sent = fake.requests().map((r) => (r.body as { messages: unknown[] }).messages);
    expect(sent[0]).toEqual([
      { role: "system", content: "Answer in the house style." },
      { role: "user", content: "style?" },
    ]);
    expect(sent[1]).toEqual(sent[0]);
  });
});

describe("reasoning effort, on both surfaces", () => {
  const chatOver = (reasoningEffort: ReasoningEffort, route = "ext") =>
    admin.capability.chat({ options: { route, reasoningEffort }, messages: [{ role: Role.USER, content: [{ part: { case: "text", value: "think" } }] }] });

  it("passes reasoning_effort and options.reasoning_effort on to a reasoning model", async () => {
    fake.reset();
    await sdk.chat.completions.create({ model: "reasoner", messages: user("think hard"), reasoning_effort: "high" });
    expect((fake.requests()[0]!.body as Record<string, unknown>).reasoning_effort).toBe("high");
    await chatOver(ReasoningEffort.MINIMAL, "reasoner");
    expect((fake.requests()[1]!.body as Record<string, unknown>).reasoning_effort).toBe("minimal");
    await chatOver(ReasoningEffort.UNSPECIFIED, "reasoner");
    expect(fake.requests()[2]!.body).not.toHaveProperty("reasoning_effort");
  });

  it("answers on a model that refuses reasoning_effort (gpt-4o-mini) as if none was asked", async () => {
    fake.reset();
    const res = await sdk.chat.completions.create({ model: "ext", messages: user("think hard"), reasoning_effort: "high" });
    expect(res.choices[0]!.message.content).toBe("echo: think hard");
    expect(fake.requests()[0]!.body).not.toHaveProperty("reasoning_effort");
    await chatOver(ReasoningEffort.LOW);
    expect(fake.requests()[1]!.body).not.toHaveProperty("reasoning_effort");
  });

  it("refuses an effort it does not know: 400 naming reasoning_effort, INVALID_ARGUMENT over Connect", async () => {
    fake.reset();
    const bad = await raw("/v1/chat/completions", JSON.stringify({ model: "ext", messages: user("x"), reasoning_effort: "extreme" }));
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).error).toMatchObject({ type: "invalid_request_error", param: "reasoning_effort", code: "invalid_argument" });
    const err = await chatOver(99 as ReasoningEffort).catch((e: unknown) => ConnectError.from(e));
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
    expect((err as ConnectError).rawMessage).toContain("reasoning_effort");
    expect(fake.requests()).toHaveLength(0);
  });

  it("caches answers per effort: another effort is not served the first one's answer", async () => {
    fake.reset();
    fake.script({ reply: { text: "low effort answer" } }, { reply: { text: "high effort answer" } });
    const ask = (effort: "low" | "high") => sdk.chat.completions.create({ model: "cached", messages: user("the same question"), reasoning_effort: effort });
    expect((await ask("low")).choices[0]!.message.content).toBe("low effort answer");
    expect((await ask("high")).choices[0]!.message.content).toBe("high effort answer");
    expect(fake.requests()).toHaveLength(2);
  });
});
