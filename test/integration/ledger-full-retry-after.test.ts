/**
 * A paid call shed because the usage ledger's buffer is full (P4) is a retryable refusal like a
 * rate limit's, and says when to retry the same way on each surface: OpenAI's `retry-after` /
 * `retry-after-ms` headers (which its SDKs obey) and, on Connect and gRPC, a `google.rpc.RetryInfo`
 * detail (which the clients' retries honour). The delay is the writer's next flush attempt.
 */
import { Code, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
  // No record may wait: the buffer is at its bound from the start, so every paid call is shed.
  rig = await startPaidRouteGateway("paid", { ledger: { flushIntervalMs: 1500, maxPendingRows: 0 } });
  ({ fake, gw, secret } = rig);
});
afterAll(async () => {
  await rig?.close();
});

describe("a call shed because the usage ledger is full", () => {
  it.each([false, true])("answers 503 with retry-after and retry-after-ms on the OpenAI surface (stream: %s)", async (stream) => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "paid", messages: [{ role: "user", content: "hi" }], max_tokens: 10, stream }),
    });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain("usage ledger");
    expect(res.headers.get("retry-after")).toBe("2");
    expect(res.headers.get("retry-after-ms")).toBe("1500");
    expect(fake.requests()).toHaveLength(0);
  });

  it.each(["connect", "grpc"] as const)("carries the retry delay as google.rpc.RetryInfo on Unavailable (%s)", async (protocol) => {
    const header = { authorization: `Bearer ${secret}` };
    const transport =
      protocol === "grpc" ? createGrpcTransport({ baseUrl: gw.url }) : createConnectTransport({ baseUrl: gw.url, httpVersion: "1.1" });
    const err = await createClient(CapabilityService, transport)
      .chat({ options: { route: "paid", maxOutputTokens: 10 }, messages: chatMessage("hi") }, { headers: header })
      .then(() => undefined, (e: unknown) => SwitchboardError.fromError(e));
    expect(err?.code).toBe(Code.Unavailable);
    expect(err?.rawMessage).toContain("usage ledger");
    expect(err?.retryDelayMs).toBe(1500);
  });
});
