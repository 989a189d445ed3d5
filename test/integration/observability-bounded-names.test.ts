/**
 * Observability under hostile input. Caller-chosen strings (route aliases, `model`, URLs,
 * unknown gRPC services, tags, request ids, trace context) must not grow the metrics registry nor
 * the span-name space without bound.
 */
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CapabilityService } from "../../gen/ts/switchboard/v1/capability_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { Health } from "../../gen/ts/grpc/health/v1/health_pb.js";
import { createTracing } from "../../server/observability/tracing.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";

let gw: TestGateway;
const spans = new InMemorySpanExporter();

beforeAll(async () => {
  gw = await startTestGateway({ tracing: await createTracing({ exporter: spans }) });
});
afterAll(async () => {
  await gw.close();
});

const seriesCount = async () => {
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  return text.split("\n").filter((l) => l.startsWith("switchboard_")).length;
};

const N = 40;

async function hostileRound(tag: string) {
  const transport = createGrpcTransport({ baseUrl: gw.url });
  const verbs = createClient(CapabilityService, transport);
  const health = createClient(Health, transport);
  for (let i = 0; i < N; i++) {
    const id = `${tag}${i}`;
    const headers = { ...gw.adminHeaders, "x-request-id": `rid-${id}`, "x-switchboard-tags": `t${id}=v${id}`, traceparent: `00-${(id + "a".repeat(32)).slice(0, 32).replace(/[^0-9a-f]/g, "b")}-00f067aa0ba902b7-01` };
    await verbs.chat({ options: { route: `nosuch-${id}` }, messages: [{ role: Role.USER, content: [{ part: { case: "text", value: "hi" } }] }] }, { headers }).catch(() => undefined);
    { try { for await (const _ of verbs.chatStream({ options: { route: `nosuch-${id}` }, messages: [{ role: Role.USER, content: [{ part: { case: "text", value: "hi" } }] }] }, { headers })) break; } catch { /* refused */ } }
    await fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify({ model: `nosuch-${id}`, messages: [{ role: "user", content: "hi" }] }) });
    await fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify({ model: "fast", stream: true, messages: [{ role: "user", content: "hi" }] }) }).then((r) => r.text());
    await fetch(`${gw.url}/v1/models/m-${id}`, { headers });
    await fetch(`${gw.url}/v1/unknown-${id}`, { headers });
    await fetch(`${gw.url}/unknown-${id}`, { headers });
    await fetch(`${gw.url}/pkg${id}.Svc/Method${id}`, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: "{}" });
    await health.check({ service: `svc-${id}` }).catch(() => undefined);
  }
}

describe("hostile input and observability", () => {
  it("keeps the metrics series count bounded whatever aliases, URLs and services callers send", async () => {
    await hostileRound("a");
    const after1 = await seriesCount();
    await hostileRound("b");
    const after2 = await seriesCount();
    expect(after2).toBe(after1);
  });

  it("keeps span names bounded whatever aliases and URLs callers send", async () => {
    spans.reset();
    await hostileRound("c");
    const names1 = new Set(spans.getFinishedSpans().map((s) => s.name));
    await hostileRound("d");
    const names2 = new Set(spans.getFinishedSpans().map((s) => s.name));
    expect([...names2].filter((n) => !names1.has(n))).toEqual([]);
  });
});
