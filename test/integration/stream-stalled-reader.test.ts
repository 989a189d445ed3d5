/**
 * P3, P12, P23: a streaming caller that stops reading its socket but keeps it open, with no
 * deadline of its own. Its writes stop draining; once one has waited `server.writeStallTimeoutMs`
 * (1 s here) the stream is ended as a caller gone: the provider call is cancelled and the attempt
 * billed — on the OpenAI surface (HTTP/1.1) and for ChatStream over gRPC (HTTP/2) alike. Before
 * the bound, such a stream held its attempt, in-flight slot and budget hold as long as the socket.
 */
import { connect, type Socket } from "node:net";
import { createClient } from "@connectrpc/connect";
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
let transport: ReturnType<typeof createGrpcTransport>;

beforeAll(async () => {
  fake = await startOpenAIFake();
  gw = await startTestGateway({ baseUrls: { openai: `${fake.url}/v1` }, credentials: new Map([["credentials/openai", "sk-test"]]), writeStallTimeoutMs: 1_000 });
  transport = createGrpcTransport({ baseUrl: gw.url, interceptors: [(next) => (req) => (req.header.set("authorization", `Bearer ${gw.adminKey}`), next(req))] });
  for (const routeId of ["sse", "grpc"]) {
    await createClient(RouteService, transport).createRoute({ routeId, route: { targets: [{ provider: "openai", model: "gpt-4o-mini", credential: "credentials/openai" }], retry: { maxAttempts: 1 } } });
  }
  await gw.models.resolver.refresh();
});
afterAll(async () => {
  await gw?.close();
  await fake?.close();
});

/** The outcomes of the route's attempts in the ledger. */
const outcomesOf = async (route: string): Promise<string[]> => {
  await gw.money.ledger.flush();
  const { items } = await gw.money.usage.list({ start: new Date(0), end: new Date(Date.now() + 60_000), filter: { routes: [route] }, limit: 10 });
  return items.map((r) => r.outcome);
};
/** A reply far larger than every buffer between the fake and the caller (≈ 1.2 MB). */
const huge = () => Array.from({ length: 150_000 }, (_, i) => `w${i}`).join(" ");

describe("a stream whose caller stops reading", () => {
  it("on the OpenAI surface is ended and its attempt billed", { timeout: 30_000 }, async () => {
    fake.script({ reply: { text: huge() } });
    const { port, hostname } = new URL(gw.url);
    const body = JSON.stringify({ model: "sse", stream: true, messages: [{ role: "user", content: "go" }] });
    const socket: Socket = connect(Number(port), hostname);
    try {
      await new Promise<void>((resolve) => {
        socket.on("connect", () => {
          socket.write(`POST /v1/chat/completions HTTP/1.1\r\nhost: ${hostname}\r\nauthorization: Bearer ${gw.adminKey}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
        });
        // The answer has begun: stop reading, keep the connection open.
        socket.once("data", () => {
          socket.pause();
          resolve();
        });
      });
      // Cut, not answered: the stall bound ended it while the caller still held the socket.
      await expect.poll(() => outcomesOf("sse"), { timeout: 10_000, interval: 200 }).toEqual(["cancelled"]);
    } finally {
      socket.destroy();
    }
  });

  it("on ChatStream over gRPC is ended and its attempt billed", { timeout: 30_000 }, async () => {
    fake.script({ reply: { text: huge() } });
    const walkAway = new AbortController();
    const messages = createClient(CapabilityService, transport)
      .chatStream({ options: { route: "grpc" }, messages: [{ role: Role.USER, content: [{ part: { case: "text", value: "go" } }] }] }, { signal: walkAway.signal })
      [Symbol.asyncIterator]();
    try {
      await messages.next(); // started: now stop reading, keep the stream open
      await expect.poll(() => outcomesOf("grpc"), { timeout: 10_000, interval: 200 }).toEqual(["cancelled"]);
    } finally {
      walkAway.abort();
    }
  });
});
