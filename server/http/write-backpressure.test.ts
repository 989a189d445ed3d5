import { createServer as createHttp1Server, request as http1Request } from "node:http";
import { connect, constants, createServer as createHttp2Server, type ClientHttp2Stream, type Http2ServerResponse } from "node:http2";
import type { AddressInfo, Server } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { writeWithBackpressure, type WritableResponse } from "./write-backpressure.js";

/*
 * A response whose reader goes away mid-stream must end the writer's loop — on HTTP/2 too, where
 * the compat response has no `destroyed` and a reset stream emits nothing after its `close`.
 */

const CHUNK = "x".repeat(64 * 1024);
let server: Server | undefined;

afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

/** Writes until `writeWithBackpressure` says the reader is gone; resolves how many writes took. */
function writeUntilGone(res: WritableResponse): Promise<number> {
  return (async () => {
    for (let n = 1; n < 100_000; n++) if (!(await writeWithBackpressure(res, CHUNK))) return n;
    throw new Error("the writer never noticed the reader was gone");
  })();
}

const timeout = <T>(p: Promise<T>, ms: number) => Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`still waiting after ${ms} ms`)), ms))]);

/** An h2c server answering with `onRequest`, and one POST to it; `close` ends the client. */
async function h2Exchange(onRequest: (res: Http2ServerResponse) => void): Promise<{ stream: ClientHttp2Stream; close: () => void }> {
  const h2 = createHttp2Server((_req, res: Http2ServerResponse) => onRequest(res));
  server = h2 as unknown as Server;
  await new Promise<void>((resolve) => h2.listen(0, "127.0.0.1", resolve));
  const client = connect(`http://127.0.0.1:${(h2.address() as AddressInfo).port}`);
  const stream = client.request({ ":path": "/", ":method": "POST" });
  stream.end();
  return { stream, close: () => client.close() };
}

describe("writeWithBackpressure", () => {
  it("resolves false when an HTTP/2 client reset the stream between two writes", async () => {
    let written!: Promise<boolean>;
    const { stream, close } = await h2Exchange((res) => {
      res.writeHead(200);
      res.write("first");
      // The next chunk comes after the client is gone (a model's next delta, say).
      res.once("close", () => setTimeout(() => (written = writeWithBackpressure(res, CHUNK)), 20));
    });
    try {
      await new Promise<void>((resolve) => stream.once("data", () => resolve()));
      stream.close(constants.NGHTTP2_CANCEL);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await timeout(written, 2000)).toBe(false);
    } finally {
      close();
    }
  });

  it("resolves false once a full HTTP/2 stream is reset while it waits", async () => {
    let writes!: Promise<number>;
    const { stream, close } = await h2Exchange((res) => {
      res.writeHead(200);
      writes = writeUntilGone(res);
    });
    try {
      // Read nothing: the window fills and the writer waits for a drain; then reset the stream.
      await new Promise<void>((resolve) => stream.once("response", () => resolve()));
      await new Promise((resolve) => setTimeout(resolve, 100));
      stream.close(constants.NGHTTP2_CANCEL);
      expect(await timeout(writes, 2000)).toBeGreaterThanOrEqual(1);
    } finally {
      close();
    }
  });

  it("resolves false when an HTTP/1.1 client dropped the connection, before or while it waits", async () => {
    let writes!: Promise<number>;
    let late!: Promise<boolean>;
    const h1 = createHttp1Server((_req, res) => {
      res.writeHead(200);
      writes = writeUntilGone(res);
      res.once("close", () => setTimeout(() => (late = writeWithBackpressure(res, CHUNK)), 20));
    });
    server = h1;
    await new Promise<void>((resolve) => h1.listen(0, "127.0.0.1", resolve));
    const req = http1Request({ port: (h1.address() as AddressInfo).port, host: "127.0.0.1", method: "POST" });
    req.end();
    const res = await new Promise<import("node:http").IncomingMessage>((resolve) => req.once("response", resolve));
    res.pause();
    await new Promise((resolve) => setTimeout(resolve, 100));
    req.destroy();
    expect(await timeout(writes, 2000)).toBeGreaterThanOrEqual(1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await timeout(late, 2000)).toBe(false);
  });

  it("gives up a write the caller does not drain within the stall bound, and destroys the response (HTTP/2, window never opened)", async () => {
    let outcome!: Promise<{ waitedMs: number; gone: boolean }>;
    const { stream, close } = await h2Exchange((res) => {
      res.writeHead(200);
      outcome = (async () => {
        // Nothing is read: the stream's window fills and a write waits, until the bound gives it up.
        for (;;) {
          const started = Date.now();
          if (!(await writeWithBackpressure(res, CHUNK, 300))) return { waitedMs: Date.now() - started, gone: res.stream.destroyed };
        }
      })();
    });
    try {
      await new Promise<void>((resolve) => stream.once("response", () => resolve()));
      const { waitedMs, gone } = await timeout(outcome, 5_000);
      expect(waitedMs).toBeGreaterThanOrEqual(250);
      expect(gone).toBe(true);
    } finally {
      stream.destroy();
      close();
    }
  });

  it("gives up on an HTTP/1.1 caller that stopped reading, but not on one that reads slowly", async () => {
    const ends: boolean[] = [];
    // The bound comes with the request: a drain can take a second or more for a reader that is
    // alive (the kernel's buffers hold megabytes on loopback), so the slow reader gets 5 s.
    const h1 = createHttp1Server((req, res) => {
      res.writeHead(200);
      const stallMs = Number(new URL(req.url ?? "/", "http://x").searchParams.get("stall"));
      void (async () => {
        let ok = true;
        for (let n = 0; ok && n < 100; n++) ok = await writeWithBackpressure(res, CHUNK, stallMs);
        ends.push(ok);
        if (ok) res.end();
      })();
      req.resume();
    });
    server = h1;
    await new Promise<void>((resolve) => h1.listen(0, "127.0.0.1", resolve));
    const get = (stallMs: number) => {
      const req = http1Request({ port: (h1.address() as AddressInfo).port, host: "127.0.0.1", method: "POST", path: `/?stall=${stallMs}` });
      req.on("error", () => {});
      req.end();
      return new Promise<import("node:http").IncomingMessage>((resolve) => req.once("response", resolve));
    };
    // Stops reading after its first bytes: the socket's buffers fill, and a write that waited 400 ms ends it.
    const stalled = await get(400);
    stalled.on("error", () => {});
    stalled.once("data", () => stalled.pause());
    await expect.poll(() => ends.length, { timeout: 10_000 }).toBe(1);
    expect(ends).toEqual([false]);
    stalled.destroy();
    // Reads all of it, pausing 20 ms after each piece: slow, but every write drains within the bound.
    const slow = await get(5_000);
    slow.on("data", () => {
      slow.pause();
      setTimeout(() => slow.resume(), 20);
    });
    await expect.poll(() => ends.length, { timeout: 30_000 }).toBe(2);
    expect(ends).toEqual([false, true]);
  });
});
