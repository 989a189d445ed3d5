import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import { create, toBinary, toJsonString } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextKey, createContextValues, type ConnectRouter, type HandlerContext, type Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CapabilityService, ChatRequestSchema, type ChatRequest } from "../../gen/ts/switchboard/v1/capability_service_pb.js";
import { createConnectUnary } from "./connect-unary.js";

/*
 * Every case is sent, byte for byte, to two servers with the same services and interceptors:
 * connect-node's own adapter, and the fast path in front of it. Status, headers and body must be
 * the same; what the implementation observed (headers, context values, the signal) is checked
 * on the fast path.
 */

const kPeer = createContextKey("", { description: "peer" });
const seen: { ctx?: HandlerContext; interceptorSaw?: string | null; peer?: string; signalAtEnd?: boolean } = {};
let endedSignals: AbortSignal[] = [];

const interceptor: Interceptor = (next) => async (req) => {
  seen.interceptorSaw = req.header.get("x-caller");
  const res = await next(req);
  res.header.set("x-intercepted", "yes");
  return res;
};

/** The `chat` verb answers according to the first message's text. */
const impl = {
  async chat(req: ChatRequest, ctx: HandlerContext) {
    seen.ctx = ctx;
    seen.peer = ctx.values.get(kPeer);
    endedSignals.push(ctx.signal);
    const part = req.messages[0]?.content[0]?.part;
    const text = part?.case === "text" ? part.value : "";
    if (text === "fail") {
      throw new ConnectError("refused for a reason", Code.FailedPrecondition, { "x-why": "because" });
    }
    if (text === "crash") throw new Error("a bug");
    if (text === "wait") {
      await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve(), { once: true }));
      throw ConnectError.from(ctx.signal.reason);
    }
    ctx.responseHeader.set("x-custom", "h");
    ctx.responseTrailer.set("x-trailer", "t");
    const size = text.startsWith("big:") ? Number(text.slice(4)) : 0;
    return { message: { role: 2, content: [{ part: { case: "text" as const, value: size > 0 ? "y".repeat(size) : `echo ${text}` } }] }, finishReason: 1 };
  },
};

const routes = (router: ConnectRouter) => router.service(CapabilityService, impl);
const contextValues = (req: IncomingMessage | Http2ServerRequest) => createContextValues().set(kPeer, req.socket?.remoteAddress ?? "");
const READ_MAX = 64 * 1024;

const servers: Server[] = [];
let plainUrl = "";
let fastUrl = "";
let fastServed = 0;

async function start(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  plainUrl = await start(connectNodeAdapter({ routes, interceptors: [interceptor], readMaxBytes: READ_MAX, contextValues }));
  const fast = createConnectUnary({ interceptors: [interceptor], readMaxBytes: READ_MAX, contextValues });
  const fallback = connectNodeAdapter({ routes: (router) => routes(fast.record(router)), interceptors: [interceptor], readMaxBytes: READ_MAX, contextValues });
  fastUrl = await start((req, res) => {
    if (fast.serve(req, res)) fastServed++;
    else fallback(req, res);
  });
});
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

interface Sent {
  method?: "POST" | "GET";
  path?: string;
  headers: Record<string, string>;
  body?: Uint8Array | string;
}
interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const IGNORED = new Set(["date", "connection", "keep-alive", "transfer-encoding"]);
async function send(base: string, sent: Sent): Promise<Answer> {
  const res = await request(`${base}${sent.path ?? "/switchboard.v1.CapabilityService/Chat"}`, {
    method: sent.method ?? "POST",
    headers: sent.headers,
    ...(sent.body === undefined ? {} : { body: sent.body }),
  });
  const body = Buffer.from(await res.body.arrayBuffer());
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers)) if (!IGNORED.has(k)) headers[k] = String(v);
  return { status: res.statusCode, headers, body: body.toString("base64") };
}

/** Sends `sent` to both servers; returns the fast path's answer after checking they agree. */
async function both(sent: Sent, expectFast = true): Promise<Answer> {
  const before = fastServed;
  const fast = await send(fastUrl, sent);
  expect(fastServed - before).toBe(expectFast ? 1 : 0);
  const plain = await send(plainUrl, sent);
  expect(fast).toEqual(plain);
  return fast;
}

const chat = (text: string) => create(ChatRequestSchema, { messages: [{ role: 1, content: [{ part: { case: "text", value: text } }] }] });
const proto = (text: string, headers: Record<string, string> = {}): Sent => ({ headers: { "content-type": "application/proto", ...headers }, body: toBinary(ChatRequestSchema, chat(text)) });
const json = (text: string, headers: Record<string, string> = {}): Sent => ({ headers: { "content-type": "application/json", ...headers }, body: toJsonString(ChatRequestSchema, chat(text)) });
const jsonBody = (a: Answer) => JSON.parse(Buffer.from(a.body, "base64").toString("utf8")) as { code?: string; message?: string };

describe("Connect unary calls over HTTP/1.1 without connect-node's universal plumbing", () => {
  it("answers a binary and a JSON call exactly as connect-node does, with headers, trailers and interceptors", async () => {
    const a = await both(proto("hi", { "x-caller": "c1" }));
    expect(a.status).toBe(200);
    expect(a.headers).toMatchObject({ "content-type": "application/proto", "x-custom": "h", "trailer-x-trailer": "t", "x-intercepted": "yes" });
    expect(seen.interceptorSaw).toBe("c1");
    expect(seen.peer).toBe("127.0.0.1");
    const j = await both(json("hi", { "content-type": "application/json; charset=utf-8" }));
    expect(Buffer.from(j.body, "base64").toString()).toContain("echo hi");
  });

  it("answers errors the same way: a ConnectError with metadata, an unexpected throw, an unimplemented method", async () => {
    const failed = await both(proto("fail"));
    expect(failed.status).toBe(400);
    expect(failed.headers["x-why"]).toBe("because");
    expect(jsonBody(failed)).toEqual({ code: "failed_precondition", message: "refused for a reason" });
    expect(jsonBody(await both(proto("crash")))).toEqual({ code: "internal", message: "internal error" });
    expect(jsonBody(await both({ ...proto("x"), path: "/switchboard.v1.CapabilityService/Classify" }))).toMatchObject({ code: "unimplemented" });
  });

  it("refuses a malformed body, a bad timeout, an unknown encoding and an oversized body the same way", async () => {
    // connect-node answers `internal` for a body its serializer cannot parse; kept the same here.
    expect(jsonBody(await both({ headers: { "content-type": "application/proto" }, body: new Uint8Array([0xff, 0xff, 0xff]) })).message).toMatch(/^parse binary: /);
    expect(jsonBody(await both({ headers: { "content-type": "application/json" }, body: "{not json" })).message).toMatch(/^cannot decode .*JSON/);
    expect(jsonBody(await both(proto("hi", { "connect-timeout-ms": "soon" }))).code).toBe("invalid_argument");
    expect(jsonBody(await both(proto("hi", { "content-encoding": "snappy" }))).code).toBe("unimplemented");
    const big = proto("y".repeat(READ_MAX + 10));
    expect(jsonBody(await both(big)).code).toBe("resource_exhausted");
  });

  it("decompresses a gzip request and compresses a large answer for a client that accepts gzip", async () => {
    const zipped = { headers: { "content-type": "application/proto", "content-encoding": "gzip" }, body: gzipSync(toBinary(ChatRequestSchema, chat("hi"))) };
    expect((await both(zipped)).status).toBe(200);
    const large = await both(proto("big:5000", { "accept-encoding": "gzip" }));
    expect(large.headers["content-encoding"]).toBe("gzip");
    const small = await both(proto("big:10", { "accept-encoding": "gzip" }));
    expect(small.headers["content-encoding"]).toBeUndefined();
  });

  it("aborts the implementation's signal at its deadline, and after every call that ended", async () => {
    endedSignals = [];
    const expired = await both(proto("wait", { "connect-timeout-ms": "30" }));
    expect(jsonBody(expired).code).toBe("deadline_exceeded");
    await both(proto("hi"));
    expect(endedSignals.length).toBe(4);
    for (const signal of endedSignals) expect(signal.aborted).toBe(true);
  });

  it("cancels the implementation's signal when the client goes away mid-call", async () => {
    seen.ctx = undefined;
    const controller = new AbortController();
    const pending = request(`${fastUrl}/switchboard.v1.CapabilityService/Chat`, { method: "POST", headers: { "content-type": "application/proto" }, body: toBinary(ChatRequestSchema, chat("wait")), signal: controller.signal });
    while (seen.ctx === undefined) await new Promise((r) => setTimeout(r, 5));
    const ctx = seen.ctx as HandlerContext;
    expect(ctx.signal.aborted).toBe(false);
    controller.abort();
    await expect(pending).rejects.toThrow();
    while (!ctx.signal.aborted) await new Promise((r) => setTimeout(r, 5));
    expect(ConnectError.from(ctx.signal.reason).code).toBe(Code.Canceled);
  });

  it("leaves GET, streaming content types and unknown paths to connect-node", async () => {
    await both({ method: "GET", headers: {} }, false);
    await both({ ...proto("hi"), headers: { "content-type": "application/connect+proto" } }, false);
    await both({ ...proto("hi"), headers: {} }, false);
    await both({ ...proto("hi"), path: "/switchboard.v1.NoSuchService/Chat" }, false);
  });
});
