/**
 * A Connect timeout larger than a Node timer can hold (2^31-1 ms, ≈ 24.8 days) but within what
 * the protocol allows (`connect-timeout-ms`: up to 10 digits) must not cut the call at once: Node
 * fires a longer delay after 1 ms.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { create, toBinary } from "@bufbuild/protobuf";
import type { ConnectRouter, HandlerContext } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { request } from "undici";
import { afterAll, beforeAll, expect, it } from "vitest";
import { CapabilityService, ChatRequestSchema } from "../../gen/ts/switchboard/v1/capability_service_pb.js";
import { createConnectH1 } from "./connect-h1.js";

let server: Server;
let url = "";
let served = 0;
const seen: { aborted?: boolean; reason?: unknown } = {};

const routes = (router: ConnectRouter) =>
  router.service(CapabilityService, {
    async chat(_req, ctx: HandlerContext) {
      // A call that takes a little while, as every model call does.
      await new Promise((r) => setTimeout(r, 50));
      seen.aborted = ctx.signal.aborted;
      seen.reason = ctx.signal.reason;
      return { message: { role: 2, content: [{ part: { case: "text" as const, value: "done" } }] }, finishReason: 1 };
    },
  });

beforeAll(async () => {
  const fast = createConnectH1({ interceptors: [], readMaxBytes: 64 * 1024 });
  const fallback = connectNodeAdapter({ routes: (router) => routes(fast.record(router)) });
  server = createServer((req, res) => {
    if (fast.serve(req, res)) served++;
    else fallback(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
});

it("a connect-timeout-ms of 3 000 000 000 (≈ 35 days) leaves the call's signal alone", async () => {
  const body = toBinary(ChatRequestSchema, create(ChatRequestSchema, { messages: [{ role: 1, content: [{ part: { case: "text", value: "hi" } }] }] }));
  const res = await request(`${url}/switchboard.v1.CapabilityService/Chat`, {
    method: "POST",
    headers: { "content-type": "application/proto", "connect-timeout-ms": "3000000000" },
    body,
  });
  await res.body.arrayBuffer();
  expect(served).toBe(1);
  expect(seen.reason).toBeUndefined();
  expect(seen.aborted).toBe(false);
  expect(res.statusCode).toBe(200);
});
