import { connect as connectH2, constants, createServer, type ClientHttp2Session, type Http2Server, type Http2ServerRequest, type Http2ServerResponse } from "node:http2";
import type { IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { brotliDecompressSync, gunzipSync, gzipSync } from "node:zlib";
import { create, fromBinary, toBinary, toJsonString } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextKey, createContextValues, type ConnectRouter, type HandlerContext, type Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/ts/grpc/health/v1/health_pb.js";
import { ServerReflection } from "../../gen/ts/grpc/reflection/v1/reflection_pb.js";
import { CapabilityService, ChatRequestSchema, ChatStreamRequestSchema, ChatStreamResponseSchema, type ChatRequest, type ChatStreamRequest } from "../../gen/ts/switchboard/v1/capability_service_pb.js";
import { createGrpcH2 } from "./grpc-h2.js";
import { superviseSession } from "./h2-sessions.js";

/*
 * Every case is sent, byte for byte, over h2c to two servers with the same services and
 * interceptors: connect-node's own adapter, and the direct gRPC path in front of it. Status,
 * headers, body bytes, trailers and how the stream ended must be the same, and so must what the
 * implementation saw (URL, protocol, request headers, timeout, context values); the signal is
 * checked on the direct path.
 */

const kPeer = createContextKey("", { description: "peer" });
const seen: { ctx?: HandlerContext; interceptorSaw?: string | null; streamFinally?: number } = {};
let endedSignals: AbortSignal[] = [];

const interceptor: Interceptor = (next) => async (req) => {
  seen.interceptorSaw = req.header.get("x-caller");
  const res = await next(req);
  res.header.set("x-intercepted", "yes");
  return res;
};

const textOf = (req: ChatRequest | ChatStreamRequest) => {
  const part = req.messages[0]?.content[0]?.part;
  return part?.case === "text" ? part.value : "";
};

/** The `chat` verb answers according to the first message's text. */
const impl = {
  async chat(req: ChatRequest, ctx: HandlerContext) {
    seen.ctx = ctx;
    endedSignals.push(ctx.signal);
    const text = textOf(req);
    if (text === "fail") {
      ctx.responseHeader.set("x-before-failing", "h");
      ctx.responseTrailer.set("x-why", "trailer first");
      throw new ConnectError("refused: for a reason / 100%", Code.FailedPrecondition, { "x-why": "because", "x-other": "o" });
    }
    if (text === "details") {
      throw new ConnectError("with details", Code.InvalidArgument, undefined, [{ desc: ChatRequestSchema, value: chat("the detail") }]);
    }
    if (text === "crash") throw new Error("a bug");
    if (text === "wait") {
      await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve(), { once: true }));
      throw ConnectError.from(ctx.signal.reason);
    }
    ctx.responseHeader.set("x-custom", "h");
    ctx.responseHeader.append("set-cookie", "a=1");
    ctx.responseHeader.append("set-cookie", "b=2");
    ctx.responseTrailer.set("x-trailer", "t");
    ctx.responseTrailer.set("x-trailer-bin", "AAEC");
    const size = text.startsWith("big:") ? Number(text.slice(4)) : 0;
    return { message: { role: 2, content: [{ part: { case: "text" as const, value: size > 0 ? "y".repeat(size) : `echo ${text}` } }] }, finishReason: 1 };
  },
};

/** The `chatStream` verb streams according to the first message's text. */
const streamImpl = {
  async *chatStream(req: ChatStreamRequest, ctx: HandlerContext) {
    seen.ctx = ctx;
    endedSignals.push(ctx.signal);
    try {
      const text = textOf(req);
      ctx.responseHeader.set("x-custom", "s");
      if (text === "crash") throw new Error("a bug");
      if (text === "wait") {
        yield { event: { case: "delta" as const, value: { text: "first" } } };
        await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve(), { once: true }));
        throw ConnectError.from(ctx.signal.reason);
      }
      if (text === "endless") {
        // Never looks at its signal: only the failing write can stop it.
        for (let i = 0; ; i++) {
          yield { event: { case: "delta" as const, value: { text: `part ${i}` } } };
          await new Promise((r) => setTimeout(r, 2));
        }
      }
      const count = text.startsWith("count:") ? Number(text.slice(6)) : 1;
      const size = text.startsWith("big:") ? Number(text.slice(4)) : 0;
      for (let i = 0; i < count; i++) yield { event: { case: "delta" as const, value: { text: size > 0 ? "y".repeat(size) : `part ${i}` } } };
      if (text === "fail-mid") throw new ConnectError("stopped midway", Code.ResourceExhausted, { "x-why": "mid" });
      ctx.responseTrailer.set("x-trailer", "t");
    } finally {
      seen.streamFinally = (seen.streamFinally ?? 0) + 1;
    }
  },
};

const routes = (router: ConnectRouter) => {
  router.service(CapabilityService, { ...impl, ...streamImpl });
  // A bidi stream, and a service with options of its own: both stay with connect-node.
  router.service(ServerReflection, {
    async *serverReflectionInfo(requests) {
      for await (const r of requests) yield { validHost: r.host };
    },
  });
  router.service(Health, { check: () => ({ status: HealthCheckResponse_ServingStatus.SERVING }) }, { readMaxBytes: 1000 });
};
const contextValues = (req: IncomingMessage | Http2ServerRequest) => createContextValues().set(kPeer, req.socket?.remoteAddress ?? "");
// Small enough that a body past it still fits HTTP/2's initial flow-control window: connect
// stops reading such a body, and both servers must have received all of it to answer alike.
const READ_MAX = 16 * 1024;
const CHAT = "/switchboard.v1.CapabilityService/Chat";
const CHAT_STREAM = "/switchboard.v1.CapabilityService/ChatStream";

const servers: Http2Server[] = [];
const sessions: ClientHttp2Session[] = [];
let plain: ClientHttp2Session;
let fast: ClientHttp2Session;
let fastServed = 0;

async function start(handler: (req: Http2ServerRequest, res: Http2ServerResponse) => void): Promise<ClientHttp2Session> {
  const server = createServer(handler);
  servers.push(server);
  // As the listener does (h2-sessions.ts), with a short grace.
  server.on("session", (session) => superviseSession(session, { idleMs: 60_000, graceMs: 50 }));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const session = connectH2(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  sessions.push(session);
  return session;
}

beforeAll(async () => {
  plain = await start(connectNodeAdapter({ routes, interceptors: [interceptor], readMaxBytes: READ_MAX, contextValues }));
  const direct = createGrpcH2({ interceptors: [interceptor], readMaxBytes: READ_MAX, contextValues });
  const fallback = connectNodeAdapter({ routes: (router) => routes(direct.record(router)), interceptors: [interceptor], readMaxBytes: READ_MAX, contextValues });
  fast = await start((req, res) => {
    if (direct.serve(req, res)) fastServed++;
    else fallback(req, res);
  });
});
afterAll(async () => {
  for (const s of sessions) s.close();
  // Every server session closes once its client has gone: from Node 22 one on which a stream was
  // answered before its body was read (the readMaxBytes case) does so only through the supervisor.
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

interface Sent {
  method?: "POST" | "GET";
  path?: string;
  headers: Record<string, string | string[]>;
  body?: Uint8Array | string;
  /** Sends the body in DATA frames of this many bytes. */
  frames?: number;
}
interface Answer {
  status: number;
  headers: Record<string, unknown>;
  body: string;
  trailers: Record<string, unknown>;
  /** The RST_STREAM code the stream ended with (0: a clean end). */
  rst: number;
  halfOpen: boolean;
}

const IGNORED = new Set(["date", ":status"]);
/** Whether this Node's HTTP/2 server leaves a stream half open after answering before the body was read (Node 20 does). */
const HALF_OPEN_AFTER_ANSWER = Number(process.versions.node.split(".")[0]) < 22;
const plainObject = (h: object) => Object.fromEntries(Object.entries(h).filter(([k]) => !IGNORED.has(k)));

async function send(session: ClientHttp2Session, sent: Sent): Promise<Answer> {
  const stream = session.request({ ":method": sent.method ?? "POST", ":path": sent.path ?? CHAT, ":authority": "gateway.test", te: "trailers", ...sent.headers });
  const chunks: Buffer[] = [];
  let status = 0;
  let headers: Record<string, unknown> = {};
  let trailers: Record<string, unknown> = {};
  stream.on("response", (h) => {
    status = Number(h[":status"]);
    headers = plainObject(h);
  });
  stream.on("trailers", (t) => (trailers = plainObject(t)));
  stream.on("data", (c: Buffer) => chunks.push(c));
  stream.on("error", () => undefined);
  if (sent.frames !== undefined && sent.body instanceof Uint8Array) {
    for (let i = 0; i < sent.body.byteLength; i += sent.frames) stream.write(sent.body.subarray(i, i + sent.frames));
    stream.end();
  } else stream.end(sent.body);
  await new Promise((r) => {
    stream.once("close", r);
    stream.once("end", r);
  });
  // Answered, but the server stopped reading a body larger than the flow-control window: the
  // stream stays half open until the client gives up.
  let halfOpen = false;
  if (!stream.closed) {
    await Promise.race([new Promise((r) => stream.once("close", r)), new Promise((r) => setTimeout(r, 100))]);
    if (!stream.closed) {
      halfOpen = true;
      stream.close(constants.NGHTTP2_CANCEL);
      await new Promise((r) => stream.once("close", r));
    }
  }
  return { status, headers, body: Buffer.concat(chunks).toString("base64"), trailers, rst: stream.rstCode ?? 0, halfOpen };
}

/** What the implementation saw of a call, to compare between the two servers. */
const view = (ctx: HandlerContext | undefined) =>
  ctx && {
    url: ctx.url,
    protocol: ctx.protocolName,
    method: ctx.requestMethod,
    rpc: `${ctx.service.typeName}/${ctx.method.name}`,
    header: [...ctx.requestHeader],
    timeout: ctx.timeoutMs() !== undefined,
    peer: ctx.values.get(kPeer),
  };

/** Sends `sent` to both servers; returns the direct path's answer after checking they agree. */
async function both(sent: Sent, expectFast = true): Promise<Answer> {
  const before = fastServed;
  seen.ctx = undefined;
  const a = await send(fast, sent);
  const fastSaw = view(seen.ctx);
  expect(fastServed - before).toBe(expectFast ? 1 : 0);
  seen.ctx = undefined;
  const b = await send(plain, sent);
  expect(a).toEqual(b);
  expect(fastSaw).toEqual(view(seen.ctx));
  return a;
}

const chat = (text: string) => create(ChatRequestSchema, { messages: [{ role: 1, content: [{ part: { case: "text", value: text } }] }] });
/** A gRPC envelope: flags, big-endian length, payload. */
const envelope = (payload: Uint8Array, flags = 0, length = payload.byteLength) => {
  const out = Buffer.alloc(5 + payload.byteLength);
  out[0] = flags;
  out.writeUInt32BE(length, 1);
  out.set(payload, 5);
  return out;
};
const chatBytes = (text: string) => toBinary(ChatRequestSchema, chat(text));
const grpc = (text: string, headers: Record<string, string | string[]> = {}): Sent => ({ headers: { "content-type": "application/grpc", ...headers }, body: envelope(chatBytes(text)) });
const raw = (body: Uint8Array, headers: Record<string, string> = {}, path = CHAT): Sent => ({ path, headers: { "content-type": "application/grpc+proto", ...headers }, body });

const status = (a: Answer) => ({ code: Number(a.trailers["grpc-status"]), message: decodeURIComponent(String(a.trailers["grpc-message"] ?? "")) });
/** The envelopes of a response body: flags and payloads (decompressed with `encoding`). */
function messages(a: Answer, encoding?: "gzip" | "br"): { flags: number; payload: Buffer }[] {
  let rest = Buffer.from(a.body, "base64");
  const out: { flags: number; payload: Buffer }[] = [];
  while (rest.length >= 5) {
    const flags = rest[0]!;
    const length = rest.readUInt32BE(1);
    let payload = rest.subarray(5, 5 + length);
    if (flags & 1) payload = encoding === "br" ? brotliDecompressSync(payload) : gunzipSync(payload);
    out.push({ flags, payload });
    rest = rest.subarray(5 + length);
  }
  expect(rest.length).toBe(0);
  return out;
}
const deltas = (a: Answer) =>
  messages(a).map(({ payload }) => {
    const event = fromBinary(ChatStreamResponseSchema, payload).event;
    return event.case === "delta" ? event.value.text : `(${event.case})`;
  });

describe("gRPC unary calls over HTTP/2 without connect-node's universal plumbing", () => {
  it("answers binary and JSON calls exactly as connect-node does, with headers, trailers, cookies and interceptors", async () => {
    const a = await both(grpc("hi", { "x-caller": "c1", "x-multi": ["1", "2"] }));
    expect(a.status).toBe(200);
    expect(a.headers).toMatchObject({ "content-type": "application/grpc+proto", "x-custom": "h", "x-intercepted": "yes", "set-cookie": ["a=1", "b=2"] });
    expect(a.trailers).toMatchObject({ "grpc-status": "0", "x-trailer": "t" });
    expect(seen.interceptorSaw).toBe("c1");
    for (const type of ["application/grpc+proto", "Application/GRPC"]) await both(grpc("hi", { "content-type": type }));
    for (const type of ["application/grpc+json", "application/grpc+json; charset=utf-8"]) {
      const j = await both({ headers: { "content-type": type }, body: envelope(Buffer.from(toJsonString(ChatRequestSchema, chat("hi")))) });
      expect(j.headers["content-type"]).toBe("application/grpc+json");
      expect(messages(j)[0]!.payload.toString()).toContain("echo hi");
    }
    // A query (no gRPC client sends one) still gives the implementation connect-node's URL.
    await both({ ...grpc("hi"), path: `${CHAT}?q='x'&r=%7e` });
  });

  it("answers errors the same way: metadata in the trailers, details, an unexpected throw, a method without implementation", async () => {
    const failed = await both(grpc("fail"));
    expect(failed.status).toBe(200);
    expect(failed.body).toBe("");
    expect(failed.headers["x-before-failing"]).toBe("h");
    expect(status(failed)).toEqual({ code: Code.FailedPrecondition, message: "refused: for a reason / 100%" });
    expect(failed.trailers).toMatchObject({ "x-why": "trailer first, because", "x-other": "o" });
    const detailed = await both(grpc("details"));
    expect(detailed.trailers["grpc-status-details-bin"]).toBeTruthy();
    expect(status(await both(grpc("crash")))).toEqual({ code: Code.Internal, message: "internal error" });
    expect(status(await both({ ...grpc("x"), path: "/switchboard.v1.CapabilityService/Classify" })).code).toBe(Code.Unimplemented);
  });

  it("refuses malformed bodies the same way: bad bytes, bad JSON, none, two messages, truncated, header only", async () => {
    const one = envelope(chatBytes("hi"));
    const cases: Sent[] = [
      raw(envelope(new Uint8Array([0xff, 0xff, 0xff]))),
      { headers: { "content-type": "application/grpc+json" }, body: envelope(Buffer.from("{not json")) },
      raw(new Uint8Array(0)),
      raw(Buffer.concat([one, one])),
      raw(Buffer.concat([one, envelope(new Uint8Array([0xff, 0xff]))])),
      raw(one.subarray(0, 8)),
      raw(Buffer.concat([one, one.subarray(0, 3)])),
      raw(envelope(new Uint8Array(0), 0, 10)),
      raw(envelope(new Uint8Array(0))),
    ];
    const codes: number[] = [];
    for (const c of cases) codes.push(status(await both(c)).code);
    expect(codes).toEqual([Code.Internal, Code.InvalidArgument, Code.Unimplemented, Code.Unimplemented, Code.Internal, Code.InvalidArgument, Code.InvalidArgument, Code.Unimplemented, 0]);
    // The same bodies in 3-byte frames: envelopes and their headers split across chunks.
    const framed: number[] = [];
    for (const c of cases) framed.push(status(await both({ ...c, frames: 3 })).code);
    expect(framed).toEqual(codes);
    expect(status(await both({ ...grpc("hi"), frames: 2 })).code).toBe(0);
  });

  it("refuses a message past readMaxBytes, before or after decompression, and what follows a refused envelope", async () => {
    const big = await both(grpc("y".repeat(READ_MAX + 10)));
    expect(status(big)).toEqual({ code: Code.ResourceExhausted, message: `message size ${READ_MAX + 24} is larger than configured readMaxBytes ${READ_MAX}` });
    // Announced only: the header says more than the limit, the payload is short.
    await both(raw(envelope(new Uint8Array(10), 0, READ_MAX + 1)));
    // A first message, then an oversized header in the same chunk: connect never sees the first.
    await both(raw(Buffer.concat([envelope(new Uint8Array([0xff])), envelope(new Uint8Array(1), 0, READ_MAX + 1)])));
    // Bodies past the flow-control window: connect stops reading at the refused header, or once
    // a second message is complete, and answers; so must the direct path.
    // (Node 20 leaves such a stream half open until the client gives up; from Node 22 the client
    // sees it closed once the answer is in, and the server's session would linger but for its
    // supervisor: see the teardown. Either way both servers must do the same.)
    const refused = await both(raw(Buffer.concat([envelope(new Uint8Array(READ_MAX * 6), 0, READ_MAX + 1)])));
    expect(refused.halfOpen).toBe(HALF_OPEN_AFTER_ANSWER);
    const filler = envelope(chatBytes("y".repeat(READ_MAX - 100)));
    const extra = await both(raw(Buffer.concat([envelope(chatBytes("hi")), ...Array.from({ length: 8 }, () => filler)])));
    expect([status(extra).code, extra.halfOpen]).toEqual([Code.Unimplemented, HALF_OPEN_AFTER_ANSWER]);
    const bomb = gzipSync(chatBytes("y".repeat(READ_MAX * 2)));
    expect(status(await both(raw(envelope(bomb, 1), { "grpc-encoding": "gzip" }))).code).toBe(Code.ResourceExhausted);
  });

  it("reads gzip requests and compresses answers from compressMinBytes for clients that accept gzip or brotli", async () => {
    const zipped = await both(raw(envelope(gzipSync(chatBytes("hi")), 1), { "grpc-encoding": "gzip" }));
    expect(status(zipped).code).toBe(0);
    // The encoding announced, this message sent uncompressed: allowed, and answered in gzip.
    expect((await both(grpc("hi", { "grpc-encoding": "gzip" }))).headers["grpc-encoding"]).toBe("gzip");
    const large = await both(grpc("big:5000", { "grpc-accept-encoding": "gzip" }));
    expect(large.headers["grpc-encoding"]).toBe("gzip");
    expect(messages(large, "gzip")[0]!.flags).toBe(1);
    const small = await both(grpc("big:10", { "grpc-accept-encoding": "gzip" }));
    expect(messages(small)[0]!.flags).toBe(0);
    const br = await both(grpc("big:5000", { "grpc-accept-encoding": "snappy, br" }));
    expect(br.headers["grpc-encoding"]).toBe("br");
    expect(messages(br, "br")[0]!.flags).toBe(1);
    await both(grpc("big:5000", { "grpc-accept-encoding": "identity" }));
  });

  it("refuses an unknown encoding, a compressed envelope without one, corrupt gzip and a bad timeout", async () => {
    const unknown = await both(grpc("hi", { "grpc-encoding": "snappy", "grpc-accept-encoding": "gzip" }));
    expect(status(unknown).code).toBe(Code.Unimplemented);
    expect(unknown.trailers["grpc-accept-encoding"]).toBe("gzip,br");
    expect(status(await both(raw(envelope(gzipSync(chatBytes("hi")), 1)))).code).toBe(Code.Internal);
    expect(status(await both(raw(envelope(new Uint8Array([1, 2, 3, 4]), 1), { "grpc-encoding": "gzip" }))).code).toBe(Code.InvalidArgument);
    for (const timeout of ["soon", "123456789S", "-1S", "1.5S"]) expect(status(await both(grpc("hi", { "grpc-timeout": timeout }))).code).toBe(Code.InvalidArgument);
    await both(grpc("hi", { "grpc-timeout": "5S" }));
  });

  it("aborts the implementation's signal at its deadline, and after every call that ended", async () => {
    endedSignals = [];
    const expired = await both(grpc("wait", { "grpc-timeout": "30m" }));
    expect(status(expired).code).toBe(Code.DeadlineExceeded);
    await both(grpc("hi"));
    await both(grpc("fail"));
    expect(endedSignals.length).toBe(6);
    for (const signal of endedSignals) expect(signal.aborted).toBe(true);
  });

  it("cancels the implementation's signal with connect-node's reason when the client resets the stream", async () => {
    const reasons: string[] = [];
    for (const session of [fast, plain]) {
      seen.ctx = undefined;
      const stream = session.request({ ":method": "POST", ":path": CHAT, "content-type": "application/grpc" });
      stream.on("error", () => undefined);
      stream.end(envelope(chatBytes("wait")));
      while (seen.ctx === undefined) await new Promise((r) => setTimeout(r, 5));
      const ctx = seen.ctx as HandlerContext;
      expect(ctx.signal.aborted).toBe(false);
      stream.close(constants.NGHTTP2_CANCEL);
      while (!ctx.signal.aborted) await new Promise((r) => setTimeout(r, 5));
      expect(ConnectError.from(ctx.signal.reason).code).toBe(Code.Canceled);
      reasons.push(String(ctx.signal.reason));
    }
    expect(reasons[0]).toBe(reasons[1]);
  });

  it("leaves GET, Connect and gRPC-Web over HTTP/2, bidi streams, services with options and unknown paths to connect-node", async () => {
    await both({ ...grpc("hi"), method: "GET", body: undefined }, false);
    await both({ headers: { "content-type": "application/proto" }, body: chatBytes("hi") }, false);
    await both({ headers: { "content-type": "application/grpc-web+proto" }, body: envelope(chatBytes("hi")) }, false);
    await both({ headers: {}, body: envelope(chatBytes("hi")) }, false);
    await both({ path: "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", headers: { "content-type": "application/grpc" }, body: envelope(new Uint8Array([0x0a, 0x01, 0x68])) }, false);
    await both({ path: "/grpc.health.v1.Health/Check", headers: { "content-type": "application/grpc" }, body: envelope(new Uint8Array(0)) }, false);
    await both({ ...grpc("hi"), path: "/switchboard.v1.NoSuchService/Chat" }, false);
  });
});

const streamReq = (text: string) => create(ChatStreamRequestSchema, { messages: [{ role: 1, content: [{ part: { case: "text", value: text } }] }] });
const streamBytes = (text: string) => toBinary(ChatStreamRequestSchema, streamReq(text));
const grpcStream = (text: string, headers: Record<string, string> = {}): Sent => ({ path: CHAT_STREAM, headers: { "content-type": "application/grpc", ...headers }, body: envelope(streamBytes(text)) });

describe("gRPC server streams over HTTP/2 without connect-node's universal plumbing", () => {
  it("streams every message and the trailers exactly as connect-node does (binary and JSON)", async () => {
    const a = await both(grpcStream("count:3", { "x-caller": "s1" }));
    expect(a.headers).toMatchObject({ "content-type": "application/grpc+proto", "x-custom": "s", "x-intercepted": "yes" });
    expect(deltas(a)).toEqual(["part 0", "part 1", "part 2"]);
    expect(a.trailers).toMatchObject({ "grpc-status": "0", "x-trailer": "t" });
    expect(seen.interceptorSaw).toBe("s1");
    const json = await both({ path: CHAT_STREAM, headers: { "content-type": "application/grpc+json" }, body: envelope(Buffer.from(toJsonString(ChatStreamRequestSchema, streamReq("count:2")))) });
    expect(Buffer.from(json.body, "base64").toString()).toContain("part 1");
    expect(deltas(await both(grpcStream("count:0")))).toEqual([]);
  });

  it("ends with the error in the trailers: before the first message, midway, and unexpected", async () => {
    const crash = await both(grpcStream("crash"));
    expect(deltas(crash)).toEqual([]);
    expect(status(crash)).toEqual({ code: Code.Internal, message: "internal error" });
    const mid = await both(grpcStream("fail-mid"));
    expect(deltas(mid)).toEqual(["part 0"]);
    expect(status(mid)).toEqual({ code: Code.ResourceExhausted, message: "stopped midway" });
    expect(mid.trailers["x-why"]).toBe("mid");
  });

  it("refuses malformed requests the same way: truncated, two messages, none, bad timeout, unknown encoding, oversized, bad bytes", async () => {
    const one = envelope(streamBytes("count:1"));
    const cases: Sent[] = [
      raw(one.subarray(0, 8), {}, CHAT_STREAM),
      raw(Buffer.concat([one, one]), {}, CHAT_STREAM),
      raw(new Uint8Array(0), {}, CHAT_STREAM),
      grpcStream("count:1", { "grpc-timeout": "soon" }),
      grpcStream("count:1", { "grpc-encoding": "snappy" }),
      grpcStream("y".repeat(READ_MAX + 10)),
      raw(envelope(new Uint8Array([0xff, 0xff])), {}, CHAT_STREAM),
      raw(envelope(gzipSync(streamBytes("count:1")), 1), {}, CHAT_STREAM),
    ];
    const codes: number[] = [];
    for (const c of cases) codes.push(status(await both(c)).code);
    expect(codes).toEqual([Code.InvalidArgument, Code.Unimplemented, Code.Unimplemented, Code.InvalidArgument, Code.Unimplemented, Code.ResourceExhausted, Code.Internal, Code.Internal]);
  });

  it("reads a gzip request and compresses large answers for a client that accepts gzip", async () => {
    const a = await both(raw(envelope(gzipSync(streamBytes("count:2")), 1), { "grpc-encoding": "gzip" }, CHAT_STREAM));
    expect(deltas(a)).toEqual(["part 0", "part 1"]);
    const large = await both(grpcStream("big:5000", { "grpc-accept-encoding": "gzip" }));
    expect(large.headers["grpc-encoding"]).toBe("gzip");
    expect(messages(large, "gzip").map((m) => m.flags)).toEqual([1]);
  });

  it("ends the stream at its deadline, and aborts every finished stream's signal", async () => {
    endedSignals = [];
    const expired = await both(grpcStream("wait", { "grpc-timeout": "40m" }));
    expect(deltas(expired)).toEqual(["first"]);
    expect(status(expired).code).toBe(Code.DeadlineExceeded);
    await both(grpcStream("count:1"));
    expect(endedSignals.length).toBe(4);
    for (const signal of endedSignals) expect(signal.aborted).toBe(true);
  });

  it("when the client resets the stream, cancels the signal and runs the implementation's finally, watching the signal or not", async () => {
    for (const text of ["wait", "endless"]) {
      const reasons: string[] = [];
      for (const session of [fast, plain]) {
        seen.ctx = undefined;
        const before = seen.streamFinally ?? 0;
        const stream = session.request({ ":method": "POST", ":path": CHAT_STREAM, "content-type": "application/grpc" });
        stream.on("error", () => undefined);
        stream.end(envelope(streamBytes(text)));
        await new Promise((r) => stream.once("data", r)); // the first message has arrived
        const ctx = seen.ctx as unknown as HandlerContext;
        expect(ctx.signal.aborted).toBe(false);
        stream.close(constants.NGHTTP2_CANCEL);
        while (!ctx.signal.aborted || (seen.streamFinally ?? 0) === before) await new Promise((r) => setTimeout(r, 5));
        expect(ConnectError.from(ctx.signal.reason).code).toBe(Code.Canceled);
        reasons.push(String(ctx.signal.reason));
      }
      expect(reasons[0]).toBe(reasons[1]);
    }
  });
});
