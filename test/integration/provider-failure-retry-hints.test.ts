/**
 * What a caller is told about retrying once dispatch has given up on a provider failure. A
 * provider's rate limit (or overload) that said how long to wait passes that delay on — as
 * `retry-after` / `retry-after-ms` on the OpenAI surface (which its SDKs obey) and as a
 * `google.rpc.RetryInfo` detail on Connect and gRPC (which the clients' retries honour) — so a
 * caller does not come back sooner than the provider allows. A broken provider credential or a
 * model the provider does not have is the gateway's misconfiguration: `internal` (500), with
 * `x-should-retry: false` on the OpenAI surface, since the SDKs would otherwise retry a 500 for
 * nothing.
 */
import { Code, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { SwitchboardError } from "../../clients/ts/src/errors.js";
import { CapabilityService } from "../../gen/ts/switchboard/v1/capability_service_pb.js";
import type { FakeProvider } from "../fakes/fake-types.js";
import type { TestGateway } from "../support/gateway.js";
import { chatMessage } from "../support/money.js";
import { startPaidRouteGateway, type PaidRouteGateway } from "../support/money-rig.js";

let rig: PaidRouteGateway;
let fake: FakeProvider;
let gw: TestGateway;
let secret: string;

beforeAll(async () => {
  rig = await startPaidRouteGateway("one");
  ({ fake, gw, secret } = rig);
});
afterAll(async () => {
  await rig?.close();
});
beforeEach(() => fake.reset());

function openAIChat(stream: boolean): Promise<Response> {
  return fetch(`${gw.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "one", messages: [{ role: "user", content: "hi" }], max_tokens: 10, stream }),
  });
}

function connectChat(protocol: "connect" | "grpc"): Promise<SwitchboardError | undefined> {
  const transport = protocol === "grpc" ? createGrpcTransport({ baseUrl: gw.url }) : createConnectTransport({ baseUrl: gw.url, httpVersion: "1.1" });
  return createClient(CapabilityService, transport)
    .chat({ options: { route: "one", maxOutputTokens: 10 }, messages: chatMessage("hi") }, { headers: { authorization: `Bearer ${secret}` } })
    .then(() => undefined, (e: unknown) => SwitchboardError.fromError(e));
}

describe("an upstream 429 with retry-after that dispatch gave up on", () => {
  it.each([false, true])("answers 503 with the provider's retry-after and retry-after-ms (stream: %s)", async (stream) => {
    fake.script({ fault: { kind: "status", status: 429, retryAfterMs: 7000 } });
    const res = await openAIChat(stream);
    expect(res.status).toBe(503);
    await res.text();
    expect(res.headers.get("retry-after")).toBe("7");
    expect(res.headers.get("retry-after-ms")).toBe("7000");
    expect(res.headers.get("x-should-retry")).toBeNull();
  });

  it.each(["connect", "grpc"] as const)("carries the provider's delay as google.rpc.RetryInfo on Unavailable (%s)", async (protocol) => {
    fake.script({ fault: { kind: "status", status: 429, retryAfterMs: 7000 } });
    const err = await connectChat(protocol);
    expect(err?.code).toBe(Code.Unavailable);
    expect(err?.retryDelayMs).toBe(7000);
  });
});

describe("an upstream 401/403/404 (a broken credential or a model the provider does not have)", () => {
  it.each([
    [401, false],
    [403, true],
    [404, false],
  ])("answers %s as 500 internal with x-should-retry: false (stream: %s)", async (status, stream) => {
    fake.script({ fault: { kind: "status", status } });
    const res = await openAIChat(stream);
    expect(res.status).toBe(500);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("internal");
    expect(res.headers.get("x-should-retry")).toBe("false");
    expect(res.headers.get("retry-after")).toBeNull();
  });

  it.each(["connect", "grpc"] as const)("is Internal with no retry delay on %s", async (protocol) => {
    fake.script({ fault: { kind: "status", status: 401 } });
    const err = await connectChat(protocol);
    expect(err?.code).toBe(Code.Internal);
    expect(err?.retryDelayMs).toBeUndefined();
  });
});
