/**
 * Logs, traces, metrics and probes end to end: a verb through the gateway and the OpenAI fake,
 * then the access-log line, the spans of the request (in-memory exporter), the fake's recorded
 * `traceparent`, `/metrics`, `/healthz` and `/readyz`.
 */
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { CapabilityService } from "../../gen/ts/switchboard/v1/capability_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { RouteService } from "../../gen/ts/switchboard/v1/route_service_pb.js";
import { createTracing } from "../../server/observability/tracing.js";
import type { FakeProvider } from "../fakes/fake-types.js";
import { startOpenAIFake } from "../fakes/openai-fake.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";

const PROVIDER_KEY = "sk-CANARY-observability-provider-0042";
const CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN = "00f067aa0ba902b7";

let gw: TestGateway;
let openai: FakeProvider;
let verbs: Client<typeof CapabilityService>;
const spans = new InMemorySpanExporter();

beforeAll(async () => {
  openai = await startOpenAIFake();
  gw = await startTestGateway({
    baseUrls: { openai: `${openai.url}/v1` },
    credentials: new Map([["credentials/openai", PROVIDER_KEY]]),
    tracing: await createTracing({ exporter: spans }),
  });
  const transport = createGrpcTransport({ baseUrl: gw.url });
  verbs = createClient(CapabilityService, transport);
  const routes = createClient(RouteService, transport);
  await routes.createRoute(
    { routeId: "obs", route: { targets: [{ provider: "openai", model: "gpt-4o-mini", credential: "credentials/openai" }] } },
    { headers: gw.adminHeaders },
  );
  await gw.models.resolver.refresh();
});
afterAll(async () => {
  await gw.close();
  await openai.close();
});

const accessLines = (requestId: string) => gw.log.lines().filter((l) => l.msg === "rpc" && l.requestId === requestId);
const chat = (text: string) => ({ options: { route: "obs" }, messages: [{ role: Role.USER, content: [{ part: { case: "text" as const, value: text } }] }] });

describe("access log", () => {
  it("writes exactly one line per RPC with who, what, where, how much and how long, and no secret", async () => {
    openai.reset();
    openai.script({ reply: { text: "a short answer", usage: { input: 12, output: 4 } } });
    const planted = "sb_live_CANARY_planted_in_the_text_0123456789";
    const res = await verbs.summarize({ options: { route: "obs" }, text: `Please summarize. My key is ${planted}.` }, { headers: { ...gw.adminHeaders, "x-request-id": "obs-summarize-1" } });
    expect(res.usage?.requestId).toBe("obs-summarize-1");
    const lines = accessLines("obs-summarize-1");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      msg: "rpc",
      level: "info",
      procedure: "switchboard.v1.CapabilityService/Summarize",
      verb: "summarize",
      code: "ok",
      route: "obs",
      provider: "openai",
      model: expect.stringContaining("gpt-4o-mini"),
      inputTokens: 12,
      outputTokens: 4,
      cacheStatus: expect.any(String),
      attempts: 1,
      fallbacks: 0,
      modelCalls: 1,
    });
    for (const field of ["orgId", "teamId", "keyId", "durationMs", "costMicrosUsd", "traceId"]) expect(lines[0], field).toHaveProperty(field);
    const text = gw.log.text();
    for (const secret of [planted, gw.adminKey, PROVIDER_KEY]) expect(text).not.toContain(secret);
  });

  it("logs a stream once, at its end, with its time to first token and how it ended", async () => {
    openai.reset();
    openai.script({ reply: { text: "one two three four", usage: { input: 5, output: 4 } } });
    let count = 0;
    for await (const _ of verbs.chatStream(chat("stream please"), { headers: { ...gw.adminHeaders, "x-request-id": "obs-stream-1" } })) count++;
    expect(count).toBeGreaterThan(2);
    const lines = accessLines("obs-stream-1");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ procedure: "switchboard.v1.CapabilityService/ChatStream", verb: "chat_stream", code: "ok", terminal: "completed", messagesOut: count, outputTokens: 4 });
    expect(lines[0]!.timeToFirstTokenMs).toBeGreaterThan(0);
    expect(lines[0]!.timeToFirstTokenMs as number).toBeLessThanOrEqual(lines[0]!.durationMs as number);
  });
});

describe("traces", () => {
  it("continues the caller's trace: RPC span → model call span → provider attempt span, GenAI attributes set, traceparent forwarded", async () => {
    openai.reset();
    spans.reset();
    openai.script({ reply: { text: "traced", usage: { input: 7, output: 1 } } });
    await verbs.chat(chat("trace me"), { headers: { ...gw.adminHeaders, traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01`, "x-request-id": "obs-trace-1" } });
    const finished = () => spans.getFinishedSpans().filter((s) => s.spanContext().traceId === CALLER_TRACE);
    await vi.waitFor(() => expect(finished().some((s) => s.name === "switchboard.v1.CapabilityService/Chat")).toBe(true));
    const all = finished();
    const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;
    const rpc = all.find((s) => s.name === "switchboard.v1.CapabilityService/Chat")!;
    const call = all.find((s) => s.name === "chat obs")!;
    const attempt = all.find((s) => s.name === "chat gpt-4o-mini")!;
    expect(rpc && call && attempt).toBeTruthy();
    expect(parentOf(rpc)).toBe(CALLER_SPAN);
    expect(parentOf(call)).toBe(rpc.spanContext().spanId);
    expect(parentOf(attempt)).toBe(call.spanContext().spanId);
    expect(attempt.attributes).toMatchObject({
      "gen_ai.system": "openai",
      "gen_ai.operation.name": "chat",
      "gen_ai.request.model": "gpt-4o-mini",
      "gen_ai.response.model": "gpt-4o-mini",
      "gen_ai.usage.input_tokens": 7,
      "gen_ai.usage.output_tokens": 1,
      "switchboard.attempt.outcome": "success",
    });
    expect(rpc.attributes).toMatchObject({ "rpc.service": "switchboard.v1.CapabilityService", "rpc.method": "Chat", "switchboard.request_id": "obs-trace-1" });
    // The provider saw the attempt's own context: same trace, the attempt span as parent.
    const sent = openai.requests()[0]!.headers.traceparent;
    expect(sent).toBe(`00-${CALLER_TRACE}-${attempt.spanContext().spanId}-01`);
    // Every span of the request is in the one trace, and no attribute holds a secret.
    expect(JSON.stringify(all.map((s) => s.attributes))).not.toContain(PROVIDER_KEY);
    expect(accessLines("obs-trace-1")[0]).toMatchObject({ traceId: CALLER_TRACE });
  });

  it("starts a new trace when the caller sends none, with the retried attempt as a second child", async () => {
    openai.reset();
    spans.reset();
    openai.script({ fault: { kind: "status", status: 503 } }, { reply: { text: "second time lucky" } });
    await verbs.chat(chat("retry me"), { headers: { ...gw.adminHeaders, "x-request-id": "obs-trace-2" } });
    await vi.waitFor(() => expect(spans.getFinishedSpans().some((s) => s.name === "switchboard.v1.CapabilityService/Chat")).toBe(true));
    const rpc = spans.getFinishedSpans().find((s) => s.name === "switchboard.v1.CapabilityService/Chat")!;
    const trace = spans.getFinishedSpans().filter((s) => s.spanContext().traceId === rpc.spanContext().traceId);
    const attempts = trace.filter((s) => s.name === "chat gpt-4o-mini");
    expect(attempts.map((a) => a.attributes["switchboard.attempt.outcome"])).toEqual(["unavailable", "success"]);
    expect(attempts[0]!.attributes["http.response.status_code"]).toBe(503);
    const headers = openai.requests().map((r) => r.headers.traceparent);
    expect(headers).toEqual(attempts.map((a) => `00-${rpc.spanContext().traceId}-${a.spanContext().spanId}-01`));
  });
});

describe("traces across the other doors", () => {
  it("gives Postgres queries of a traced RPC their own spans, children of the RPC (SQL placeholders, no values)", async () => {
    spans.reset();
    const routes = createClient(RouteService, createGrpcTransport({ baseUrl: gw.url }));
    await routes.createRoute({ routeId: "obs-db", route: { targets: [{ provider: "sandbox", model: "sandbox-fast" }] } }, { headers: gw.adminHeaders });
    const rpc = spans.getFinishedSpans().find((s) => s.name === "switchboard.v1.RouteService/CreateRoute")!;
    const queries = spans.getFinishedSpans().filter((s) => s.spanContext().traceId === rpc.spanContext().traceId && s.name.startsWith("db "));
    expect(queries.length).toBeGreaterThan(0);
    expect(queries.some((q) => q.name === "db insert")).toBe(true);
    for (const q of queries) expect(q.attributes["db.system.name"]).toBe("postgresql");
    expect(JSON.stringify(queries.map((q) => q.attributes))).not.toContain("sandbox-fast");
  });

  it("continues a caller's trace through the OpenAI-compatible surface to the provider", async () => {
    openai.reset();
    spans.reset();
    openai.script({ reply: { text: "hi there" } });
    const trace = "0af7651916cd43dd8448eb211c80319c";
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { ...gw.adminHeaders, "content-type": "application/json", traceparent: `00-${trace}-b7ad6b7169203331-01` },
      body: JSON.stringify({ model: "obs", messages: [{ role: "user", content: "hello" }] }),
    });
    expect(res.status).toBe(200);
    await vi.waitFor(() => expect(spans.getFinishedSpans().some((s) => s.name === "POST /v1/chat/completions")).toBe(true));
    const inTrace = spans.getFinishedSpans().filter((s) => s.spanContext().traceId === trace);
    const http = inTrace.find((s) => s.name === "POST /v1/chat/completions")!;
    const call = inTrace.find((s) => s.name === "chat obs")!;
    const attempt = inTrace.find((s) => s.name === "chat gpt-4o-mini")!;
    expect(http.parentSpanContext?.spanId).toBe("b7ad6b7169203331");
    expect(call.parentSpanContext?.spanId).toBe(http.spanContext().spanId);
    expect(attempt.parentSpanContext?.spanId).toBe(call.spanContext().spanId);
    expect(openai.requests()[0]!.headers.traceparent).toBe(`00-${trace}-${attempt.spanContext().spanId}-01`);
  });
});

describe("/metrics, /healthz, /readyz", () => {
  it("exposes the RPC, model-call, token, attempt, retry and gauge series after traffic", async () => {
    // The OpenAI surface's requests are RPC series too, named by endpoint template (no model id in a label).
    expect((await fetch(`${gw.url}/v1/models/obs`, { headers: gw.adminHeaders })).status).toBe(200);
    expect((await fetch(`${gw.url}/v1/no-such-endpoint/abc123`, { headers: gw.adminHeaders })).status).toBe(404);
    const res = await fetch(`${gw.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain");
    const text = await res.text();
    for (const series of [
      'switchboard_rpc_requests_total{service="switchboard.v1.CapabilityService",method="Chat",code="ok"}',
      'switchboard_rpc_duration_seconds_bucket{le="0.005",service="switchboard.v1.CapabilityService",method="Summarize",code="ok"}',
      'switchboard_rpc_time_to_first_token_seconds_count{method="ChatStream",route="obs"} 1',
      'switchboard_model_calls_total{verb="chat",route="obs",code="ok"}',
      'switchboard_rpc_requests_total{service="openai",method="POST /v1/chat/completions",code="ok"}',
      'switchboard_rpc_requests_total{service="openai",method="GET /v1/models/{model}",code="ok"} 1',
      'switchboard_rpc_requests_total{service="openai",method="unknown",code="not_found"} 1',
      'switchboard_rpc_duration_seconds_count{service="openai",method="POST /v1/chat/completions",code="ok"}',
      'switchboard_provider_attempts_total{provider="openai",model="gpt-4o-mini",outcome="unavailable"} 1',
      'switchboard_provider_attempts_total{provider="openai",model="gpt-4o-mini",outcome="success"}',
      'switchboard_provider_time_to_first_token_seconds_count{provider="openai",model="gpt-4o-mini"} 1',
      'kind="input"}',
      'switchboard_retries_total{route="obs"} 1',
      'switchboard_cache_lookups_total{route="obs",status=',
      'switchboard_breaker_state{provider="openai",model="gpt-4o-mini"} 0',
      "switchboard_usage_buffer_depth ",
      'switchboard_dependency_up{dependency="postgres"} 1',
      "process_cpu_seconds_total",
    ]) {
      expect(text, series).toContain(series);
    }
    expect(text).toMatch(/switchboard_tokens_total\{org="[^"]+",team="[^"]+",route="obs",provider="openai",model="gpt-4o-mini",kind="output"\} \d+/);
    // Labels are ids and enums: no key id, no secret.
    const keyId = accessLines("obs-summarize-1")[0]!.keyId as string;
    expect(text).not.toContain(keyId);
    expect(text).not.toContain(gw.adminKey);
    expect(text).not.toContain("abc123");
    expect(text).not.toContain('method="GET /v1/models/obs"');
  });

  it("answers liveness and readiness over plain HTTP", async () => {
    const live = await fetch(`${gw.url}/healthz`);
    expect(live.status).toBe(200);
    await gw.server.readiness.probeNow();
    const ready = await fetch(`${gw.url}/readyz`);
    expect(ready.status).toBe(200);
    const report = (await ready.json()) as { status: string; dependencies: Record<string, { status: string }> };
    expect(report.status).toBe("ready");
    expect(Object.keys(report.dependencies).sort()).toEqual(["postgres", "providers", "state"]);
    expect((await fetch(`${gw.url}/metrics`, { method: "POST" })).status).toBe(405);
  });
});
