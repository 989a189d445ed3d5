import * as http2 from "node:http2";
import { gzipSync } from "node:zlib";
import { createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CapabilityService } from "../../gen/ts/switchboard/v1/capability_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { startTestGateway, type TestGateway } from "../../test/support/gateway.js";
import { MAX_REQUEST_VALUES, tooManyValues } from "./value-budget.js";

/*
 * A binary request of nothing but empty sub-messages (P23: "the process never OOMs"; a body's
 * cost is bounded). Each `messages` entry of a ChatRequest is 2 bytes on the wire and an object
 * with two arrays once parsed, so 4 MiB of them (2M entries) cost ≈ 360 MB of heap and 2 s of CPU
 * before protovalidate's `max_items` (2048) could refuse it — and the body is parsed before any
 * interceptor, authentication included. At the default `maxRequestBytes` (32 MiB) that was
 * ≈ 2.9 GB for one unauthenticated call: two at once exceeded V8's heap limit.
 */

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => {
  await gw?.close();
});

const CHAT = "/switchboard.v1.CapabilityService/Chat";
const CHAT_STREAM = "/switchboard.v1.CapabilityService/ChatStream";
/** The test gateway's `maxRequestBytes` (4 MiB) of `messages` entries (field 2, length 0). */
const flood = (() => {
  const body = Buffer.alloc(4 * 1024 * 1024);
  for (let i = 0; i < body.length; i += 2) body[i] = (2 << 3) | 2;
  return body;
})();

/** `send`'s answer, how long it took, and how much the heap grew meanwhile (its peak, sampled). */
async function measured<T>(send: () => Promise<T>): Promise<{ answer: T; elapsedMs: number; grownBytes: number }> {
  const before = process.memoryUsage().heapUsed;
  let peak = before;
  const sample = setInterval(() => (peak = Math.max(peak, process.memoryUsage().heapUsed)), 1);
  const started = performance.now();
  try {
    const answer = await send();
    const elapsedMs = performance.now() - started;
    peak = Math.max(peak, process.memoryUsage().heapUsed);
    return { answer, elapsedMs, grownBytes: peak - before };
  } finally {
    clearInterval(sample);
  }
}

const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);

describe("a binary request flooded with empty sub-messages", () => {
  it("is refused over Connect (HTTP/1.1) with resource_exhausted, before it is parsed", async () => {
    const { answer, elapsedMs, grownBytes } = await measured(async () => {
      const res = await fetch(gw.url + CHAT, { method: "POST", headers: { "content-type": "application/proto" }, body: flood });
      return { status: res.status, body: (await res.json()) as { code: string; message: string } };
    });
    const seen = `${answer.body.code}: ${answer.body.message} (heap +${mb(grownBytes)} MB, ${Math.round(elapsedMs)} ms)`;
    expect(answer.status, seen).toBe(429);
    expect(answer.body.code).toBe("resource_exhausted");
    expect(grownBytes).toBeLessThan(64 * 1024 * 1024);
  });

  it("is refused as Connect JSON (HTTP/1.1) with resource_exhausted, before it is parsed", async () => {
    // `{},` is three bytes and two objects (JSON.parse's and the message's).
    const json = `{"messages":[${"{},".repeat(1_000_000)}{}]}`;
    const { answer, grownBytes } = await measured(async () => {
      const res = await fetch(gw.url + CHAT, { method: "POST", headers: { "content-type": "application/json" }, body: json });
      return { status: res.status, body: (await res.json()) as { code: string; message: string } };
    });
    expect(answer.status, `${answer.body.code}: ${answer.body.message} (heap +${mb(grownBytes)} MB)`).toBe(429);
    expect(answer.body.code).toBe("resource_exhausted");
    expect(grownBytes).toBeLessThan(64 * 1024 * 1024);
  });

  it("is refused over gRPC (h2c) with resource_exhausted, before it is parsed", async () => {
    const session = http2.connect(gw.url);
    try {
      const { answer, elapsedMs, grownBytes } = await measured(
        () =>
          new Promise<{ status: string | undefined; message: string | undefined }>((resolve, reject) => {
            const stream = session.request({ ":method": "POST", ":path": CHAT, "content-type": "application/grpc", te: "trailers" });
            stream.on("trailers", (trailers) => resolve({ status: trailers["grpc-status"] as string | undefined, message: trailers["grpc-message"] as string | undefined }));
            stream.on("error", reject);
            stream.resume();
            const head = Buffer.alloc(5);
            head.writeUInt32BE(flood.length, 1);
            stream.write(head);
            stream.end(flood);
          }),
      );
      const seen = `${answer.status}: ${decodeURIComponent(answer.message ?? "")} (heap +${mb(grownBytes)} MB, ${Math.round(elapsedMs)} ms)`;
      expect(answer.status, seen).toBe("8"); // RESOURCE_EXHAUSTED
      expect(grownBytes).toBeLessThan(64 * 1024 * 1024);
      } finally {
      session.close();
    }
  });
});

/** A gRPC / Connect-streaming envelope of `data` (flags 0: a message, uncompressed). */
function enveloped(data: Uint8Array, flags = 0): Buffer {
  const head = Buffer.alloc(5);
  head[0] = flags;
  head.writeUInt32BE(data.byteLength, 1);
  return Buffer.concat([head, data]);
}

/** An HTTP/2 POST of `body` to `path`: its status, headers (trailers merged in) and body. */
async function h2Post(path: string, headers: http2.OutgoingHttpHeaders, body: Uint8Array): Promise<{ status: number; headers: http2.IncomingHttpHeaders; body: Buffer }> {
  const session = http2.connect(gw.url);
  try {
    return await new Promise((resolve, reject) => {
      const stream = session.request({ ":method": "POST", ":path": path, ...headers });
      let head: http2.IncomingHttpHeaders = {};
      const chunks: Buffer[] = [];
      stream.on("response", (h) => (head = h));
      stream.on("trailers", (t) => (head = { ...head, ...t }));
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => resolve({ status: Number(head[":status"]), headers: head, body: Buffer.concat(chunks) }));
      stream.on("error", reject);
      stream.end(body);
    });
  } finally {
    session.close();
  }
}

/** The budget's refusal, as the protocols carry its message. */
const REFUSAL = tooManyValues(MAX_REQUEST_VALUES).rawMessage;

describe("a request flooded with empty sub-messages on connect-node's path", () => {
  it("is refused as Connect over HTTP/2 with resource_exhausted, before it is parsed", async () => {
    const { answer, elapsedMs, grownBytes } = await measured(() => h2Post(CHAT, { "content-type": "application/proto" }, flood));
    const body = JSON.parse(answer.body.toString()) as { code: string; message: string };
    const seen = `${body.code}: ${body.message} (heap +${mb(grownBytes)} MB, ${Math.round(elapsedMs)} ms)`;
    expect(answer.status, seen).toBe(429);
    expect(body).toEqual({ code: "resource_exhausted", message: REFUSAL });
    expect(grownBytes).toBeLessThan(64 * 1024 * 1024);
  });

  it("is refused gzip-compressed as Connect over HTTP/2, counted once decompressed", async () => {
    const { answer, grownBytes } = await measured(() => h2Post(CHAT, { "content-type": "application/proto", "content-encoding": "gzip" }, gzipSync(flood)));
    const body = JSON.parse(answer.body.toString()) as { code: string; message: string };
    expect(body, `heap +${mb(grownBytes)} MB`).toEqual({ code: "resource_exhausted", message: REFUSAL });
    expect(grownBytes).toBeLessThan(64 * 1024 * 1024);
  });

  it("is refused as Connect JSON over HTTP/2 with resource_exhausted", async () => {
    const json = Buffer.from(`{"messages":[${"{},".repeat(1_000_000)}{}]}`);
    const { answer, grownBytes } = await measured(() => h2Post(CHAT, { "content-type": "application/json" }, json));
    const body = JSON.parse(answer.body.toString()) as { code: string; message: string };
    expect(body, `heap +${mb(grownBytes)} MB`).toEqual({ code: "resource_exhausted", message: REFUSAL });
    expect(grownBytes).toBeLessThan(64 * 1024 * 1024);
  });

  it("is refused as a Connect stream's request (ChatStream over HTTP/2) with resource_exhausted", async () => {
    // Authenticated: a stream's request message is read after the interceptors.
    const headers = { "content-type": "application/connect+proto", ...gw.adminHeaders };
    const { answer, grownBytes } = await measured(() => h2Post(CHAT_STREAM, headers, enveloped(flood)));
    // The end-stream envelope: flags 2, then its JSON.
    const end = JSON.parse(answer.body.subarray(5).toString()) as { error?: { code: string; message: string } };
    expect(answer.body[0]).toBe(2);
    expect(end.error, `heap +${mb(grownBytes)} MB`).toEqual({ code: "resource_exhausted", message: REFUSAL });
    expect(grownBytes).toBeLessThan(64 * 1024 * 1024);
  });

  it("is refused over gRPC-Web (HTTP/1.1) with resource_exhausted", async () => {
    const { answer, grownBytes } = await measured(async () => {
      const res = await fetch(gw.url + CHAT, { method: "POST", headers: { "content-type": "application/grpc-web+proto" }, body: enveloped(flood) });
      // The status in the trailers-only response's headers, or in the body's trailer envelope (flags 0x80).
      const body = Buffer.from(await res.arrayBuffer());
      const trailer = new Headers(body.length > 5 && body[0] === 0x80 ? body.subarray(5).toString().trim().split("\r\n").map((l) => l.split(/:\s*/, 2) as [string, string]) : []);
      const status = res.headers.get("grpc-status") ?? trailer.get("grpc-status");
      return { status, message: decodeURIComponent(res.headers.get("grpc-message") ?? trailer.get("grpc-message") ?? "") };
    });
    expect(answer.status, `${answer.message} (heap +${mb(grownBytes)} MB)`).toBe("8"); // RESOURCE_EXHAUSTED
    expect(answer.message).toBe(REFUSAL);
    expect(grownBytes).toBeLessThan(64 * 1024 * 1024);
  });

  describe("a conversation at the schema's limit (2,048 messages, walked: over 100,000 bytes)", () => {
    const messages = Array.from({ length: 2048 }, (_, i) => ({ role: i % 2 === 0 ? Role.USER : Role.ASSISTANT, content: [{ part: { case: "text" as const, value: `turn ${i} `.repeat(8) } }] }));
    const transports: Record<string, () => Transport> = {
      "Connect over HTTP/2": () => createConnectTransport({ baseUrl: gw.url, httpVersion: "2" }),
      "Connect JSON over HTTP/2": () => createConnectTransport({ baseUrl: gw.url, httpVersion: "2", useBinaryFormat: false }),
      "gRPC-Web over HTTP/1.1": () => createGrpcWebTransport({ baseUrl: gw.url, httpVersion: "1.1" }),
      "gzip-compressed Connect over HTTP/2": () => createConnectTransport({ baseUrl: gw.url, httpVersion: "2", sendCompression: { name: "gzip", compress: async (b) => gzipSync(b), decompress: () => Promise.reject(new Error("unused")) } }),
    };
    for (const [name, transport] of Object.entries(transports)) {
      it(`is answered over ${name}`, async () => {
        const client = createClient(CapabilityService, transport());
        const answer = await client.chat({ messages }, { headers: gw.adminHeaders });
        expect(answer.usage?.provider).toBe("sandbox");
        const stream = client.chatStream({ messages }, { headers: gw.adminHeaders });
        let chunks = 0;
        for await (const _ of stream) chunks++;
        expect(chunks).toBeGreaterThan(0);
      });
    }
  });
});
