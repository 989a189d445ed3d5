import * as http2 from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../../test/support/gateway.js";

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
