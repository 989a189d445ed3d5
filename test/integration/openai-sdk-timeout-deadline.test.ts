/**
 * The OpenAI TS SDK sends a request's `timeout` as `x-stainless-timeout`, truncated to whole
 * seconds (`Math.trunc(timeout / 1000)`); the gateway takes that header as the call's deadline
 * (README: "the call's deadline; else the OpenAI SDKs' x-stainless-timeout (seconds)"). A call
 * that answers well within the SDK's timeout must not be cut by a shorter gateway deadline.
 */
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RouteService } from "../../gen/ts/switchboard/v1/route_service_pb.js";
import { startOpenAIFake } from "../fakes/openai-fake.js";
import type { FakeProvider } from "../fakes/fake-types.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";

let gw: TestGateway;
let fake: FakeProvider;

beforeAll(async () => {
  fake = await startOpenAIFake();
  gw = await startTestGateway({ baseUrls: { openai: `${fake.url}/v1` }, credentials: new Map([["credentials/openai", "sk-test"]]) });
  const transport = createGrpcTransport({ baseUrl: gw.url, interceptors: [(next) => (req) => (req.header.set("authorization", `Bearer ${gw.adminKey}`), next(req))] });
  await createClient(RouteService, transport).createRoute({
    routeId: "ext",
    route: { targets: [{ provider: "openai", model: "gpt-4o-mini", credential: "credentials/openai", priority: 0 }], retry: { maxAttempts: 1 } },
  });
  await gw.models.resolver.refresh();
});
afterAll(async () => {
  await gw?.close();
  await fake?.close();
});

describe("the SDK's request timeout as the call's deadline", () => {
  it("answers a call that takes 1.3 s when the SDK allows 1.9 s (x-stainless-timeout: 1)", async () => {
    fake.reset();
    fake.script({ delayMs: 1300, reply: { text: "slow but in time" } });
    const sdk = new OpenAI({ apiKey: gw.adminKey, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const res = await sdk.chat.completions.create({ model: "ext", messages: [{ role: "user", content: "hi" }] }, { timeout: 1900 }).catch((e: unknown) => e);
    expect(res).not.toBeInstanceOf(Error);
    expect((res as OpenAI.ChatCompletion).choices[0]!.message.content).toBe("slow but in time");
  });
});
