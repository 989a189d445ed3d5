/**
 * ChatStream and `stream: true` whose prompt fits no target's context window (P23: refused
 * before any upstream call) must fail at once with InvalidArgument (400), not hang — and must
 * release the caller's in-flight slot.
 */
import { request as httpRequest } from "node:http";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CapabilityService } from "../../gen/ts/switchboard/v1/capability_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { RouteService } from "../../gen/ts/switchboard/v1/route_service_pb.js";
import { startOpenAIFake } from "../fakes/openai-fake.js";
import type { FakeProvider } from "../fakes/fake-types.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";

let gw: TestGateway;
let fake: FakeProvider;
let verbs: ReturnType<typeof createClient<typeof CapabilityService>>;

beforeAll(async () => {
  fake = await startOpenAIFake();
  gw = await startTestGateway({ baseUrls: { openai: `${fake.url}/v1` }, credentials: new Map([["credentials/openai", "sk-test"]]), overload: { maxInFlightPerKey: 1 } });
  const transport = createGrpcTransport({ baseUrl: gw.url, interceptors: [(next) => (req) => (req.header.set("authorization", `Bearer ${gw.adminKey}`), next(req))] });
  verbs = createClient(CapabilityService, transport);
  const routes = createClient(RouteService, transport);
  await routes.createRoute({ routeId: "tiny", route: { targets: [{ provider: "openai", model: "gpt-4o-mini", credential: "credentials/openai", contextWindowTokens: 16 }] } });
  await gw.models.resolver.refresh();
});
afterAll(async () => {
  await gw?.close();
  await fake?.close();
});

const long = "word ".repeat(400);

describe("a streamed prompt over every context window", () => {
  it("ChatStream fails with InvalidArgument at once (not at its deadline)", async () => {
    const started = Date.now();
    const err = await (async () => {
      for await (const _ of verbs.chatStream({ options: { route: "tiny" }, messages: [{ role: Role.USER, content: [{ part: { case: "text", value: long } }] }] }, { timeoutMs: 10_000 }));
    })().then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    expect(`${Code[err?.code ?? Code.Unknown]}: ${err?.rawMessage}`).toMatch(/^InvalidArgument/);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(fake.requests()).toHaveLength(0);
  });

  it("the OpenAI surface answers 400 at once", async () => {
    const started = Date.now();
    const status = await new Promise<number | string>((resolve) => {
      const req = httpRequest(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${gw.adminKey}`, "content-type": "application/json" } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.setTimeout(8_000, () => {
        resolve("no answer after 8 s");
        req.destroy();
      });
      req.on("error", () => undefined);
      req.end(JSON.stringify({ model: "tiny", stream: true, messages: [{ role: "user", content: long }] }));
    });
    expect(status).toBe(400);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it("leaves the key's in-flight slot free (cap 1): a normal call afterwards is served", async () => {
    fake.script({ reply: { text: "fine" } });
    const res = await verbs.chat({ options: { route: "tiny" }, messages: [{ role: Role.USER, content: [{ part: { case: "text", value: "hi" } }] }] }).then(
      (r) => (r.message?.content[0]?.part.case === "text" ? r.message.content[0].part.value : "?"),
      (e: unknown) => Code[ConnectError.from(e).code],
    );
    expect(res).toBe("fine");
  });
});
