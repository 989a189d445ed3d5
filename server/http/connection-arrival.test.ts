import { connect as h2Connect, constants as h2Constants, type ClientHttp2Stream } from "node:http2";
import { connect } from "node:net";
import { afterEach, describe, expect, it, onTestFinished } from "vitest";
import type { RequestHandler } from "../server.js";
import { listen, type Listener } from "./listener.js";

/*
 * Slow or hostile callers at the listener (P23: consumption is bounded; slowloris): a connection
 * must not be held forever before it is handed to HTTP/1.1 or HTTP/2, an HTTP/2 stream must not
 * wait forever for its body, and one HTTP/2 connection must not open streams without bound.
 */

/** Answers once the request body has been read to its end, as the gateway's paths do. */
const handler: RequestHandler = (req, res) => {
  req.resume();
  req.on("end", () => {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("ok");
  });
};

let listener: Listener | undefined;
afterEach(async () => {
  await listener?.shutdown(0);
  listener = undefined;
});

describe("listener arrival bounds", () => {
  it("lets go of a connection that sends nothing, or only part of the HTTP/2 preface, by the headers timeout", async () => {
    listener = await listen(handler, { host: "127.0.0.1", port: 0, h1Arrival: { headersTimeoutMs: 300, requestTimeoutMs: 600, checkIntervalMs: 50 } });
    const { port } = listener;
    const stalled = (bytes: string) => {
      const socket = connect(port, "127.0.0.1");
      const started = Date.now();
      const closed = new Promise<number | string>((resolve) => {
        socket.once("close", () => resolve(Date.now() - started));
        setTimeout(() => resolve("still open after 3 s"), 3_000).unref();
      });
      socket.on("error", () => {});
      socket.resume();
      if (bytes !== "") socket.write(bytes);
      onTestFinished(() => void socket.destroy());
      return closed;
    };
    const [silent, partialPreface] = await Promise.all([stalled(""), stalled("PRI * HTTP/2.0\r\n")]);
    // Plain node:http closes a silent connection at its headers timeout; so must the sniffing listener.
    expect(silent).toBeTypeOf("number");
    expect(partialPreface).toBeTypeOf("number");
    for (let i = 0; i < 100 && listener.openConnections() > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(listener.openConnections()).toBe(0);
  });

  it("lets go of an HTTP/2 stream whose request body never arrives, by the request timeout", async () => {
    listener = await listen(handler, {
      host: "127.0.0.1",
      port: 0,
      h1Arrival: { headersTimeoutMs: 300, requestTimeoutMs: 600, checkIntervalMs: 50 },
      h2Sessions: { idleMs: 65_000, graceMs: 1_000, requestTimeoutMs: 600 },
    });
    const session = h2Connect(listener.url);
    session.on("error", () => {});
    onTestFinished(() => void session.destroy());
    // A gRPC unary call's headers with no body (no grpc-timeout, so no deadline of its own).
    const stream = session.request({ ":method": "POST", ":path": "/grpc.health.v1.Health/Check", "content-type": "application/grpc" }, { endStream: false });
    stream.on("error", () => {});
    stream.resume();
    const started = Date.now();
    const closed = new Promise<number | string>((resolve) => {
      stream.once("close", () => resolve(Date.now() - started));
      setTimeout(() => resolve("still open after 3 s"), 3_000).unref();
    });
    const after = await closed;
    expect(after).toBeTypeOf("number");
    expect(listener.inFlight()).toBe(0);
  });

  it("bounds the streams one HTTP/2 connection may have open at once", async () => {
    listener = await listen(handler, { host: "127.0.0.1", port: 0 });
    const session = h2Connect(listener.url);
    session.on("error", () => {});
    onTestFinished(() => void session.destroy());
    await new Promise<void>((resolve) => session.once("remoteSettings", () => resolve()));
    // Node's default is 2^32 - 1: one connection could hold any number of calls (each ≈ 12 KB
    // of the gateway's heap while it waits for its body — 15 000 of them: +176 MB).
    expect(session.remoteSettings.maxConcurrentStreams).toBeLessThanOrEqual(1024);
    // And the server holds no more than that, whatever the client sends.
    const streams: ClientHttp2Stream[] = [];
    for (let i = 0; i < 1500; i++) {
      const s = session.request({ ":method": "POST", ":path": "/x", "content-type": "application/grpc" }, { endStream: false });
      s.on("error", () => {});
      s.resume();
      streams.push(s);
    }
    await new Promise((r) => setTimeout(r, 1_000));
    expect(listener.inFlight()).toBeLessThanOrEqual(session.remoteSettings.maxConcurrentStreams ?? Infinity);
    for (const s of streams) s.close(h2Constants.NGHTTP2_CANCEL);
  });
});
