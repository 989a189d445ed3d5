import { request as h1Request } from "node:http";
import { connect as h2Connect } from "node:http2";
import { connect } from "node:net";
import { afterEach, describe, expect, it, onTestFinished } from "vitest";
import type { RequestHandler } from "../server.js";
import { listen, type Listener } from "./listener.js";

/** A handler that answers `/slow?ms=N` after N ms and `/hang` never; the body names the HTTP version. */
const handler: RequestHandler = (req, res) => {
  const url = new URL(req.url ?? "/", "http://x");
  const answer = () => {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end(`HTTP/${req.httpVersion}`);
  };
  if (url.pathname === "/hang") return;
  setTimeout(answer, Number(url.searchParams.get("ms") ?? 0));
};

function getH1(base: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = h1Request(`${base}${path}`, { agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

function getH2(base: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const session = h2Connect(base);
    session.on("error", reject);
    const stream = session.request({ ":path": path });
    let status = 0;
    let body = "";
    stream.setEncoding("utf8");
    stream.on("response", (h) => (status = Number(h[":status"])));
    stream.on("data", (c: string) => (body += c));
    stream.on("end", () => {
      session.close();
      resolve({ status, body });
    });
    stream.on("error", (err) => {
      session.destroy();
      reject(err);
    });
    stream.end();
  });
}

let listener: Listener | undefined;
afterEach(async () => {
  await listener?.shutdown(0);
  listener = undefined;
});

describe("listen", () => {
  it("serves HTTP/1.1 and h2c prior knowledge on the same port", async () => {
    listener = await listen(handler, { host: "127.0.0.1", port: 0 });
    expect(await getH1(listener.url, "/")).toEqual({ status: 200, body: "HTTP/1.1" });
    expect(await getH2(listener.url, "/")).toEqual({ status: 200, body: "HTTP/2.0" });
  });

  it("drains: in-flight requests on both protocols finish, new connections are refused", async () => {
    listener = await listen(handler, { host: "127.0.0.1", port: 0 });
    const h1 = getH1(listener.url, "/slow?ms=400");
    const h2 = getH2(listener.url, "/slow?ms=400");
    await waitFor(() => listener!.inFlight() === 2);
    const started = Date.now();
    const closed = listener.shutdown(10_000);
    await expect(getH1(listener.url, "/")).rejects.toMatchObject({ code: "ECONNREFUSED" });
    expect(await h1).toEqual({ status: 200, body: "HTTP/1.1" });
    expect(await h2).toEqual({ status: 200, body: "HTTP/2.0" });
    await closed;
    // It waited for the requests, not for the whole grace period.
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(listener.inFlight()).toBe(0);
  });

  it("closes an HTTP/2 session left idle past its timeout, never one with a stream open", async () => {
    listener = await listen(handler, { host: "127.0.0.1", port: 0, h2Sessions: { idleMs: 300, graceMs: 100 } });
    const session = h2Connect(listener.url);
    const goaway = new Promise<number | string>((resolve) => {
      session.once("goaway", resolve);
      setTimeout(() => resolve("no GOAWAY within 3 s"), 3_000).unref();
    });
    const closed = new Promise<number>((resolve) => session.once("close", () => resolve(Date.now())));
    onTestFinished(() => void session.destroy());
    const get = (path: string) =>
      new Promise<string>((resolve, reject) => {
        const stream = session.request({ ":path": path });
        let body = "";
        stream.setEncoding("utf8");
        stream.on("data", (c: string) => (body += c));
        stream.on("end", () => resolve(body));
        stream.on("error", reject);
        stream.end();
      });
    // A request slower than the idle timeout, then a second one on the same session.
    expect(await get("/slow?ms=700")).toBe("HTTP/2.0");
    expect(await get("/slow?ms=50")).toBe("HTTP/2.0");
    const answered = Date.now();
    expect(await goaway).toBe(0); // NO_ERROR
    expect((await closed) - answered).toBeGreaterThanOrEqual(250);
    await waitFor(() => listener!.openConnections() === 0, 3_000);
  });

  it("lets go of an HTTP/1.1 client that stops mid-headers or mid-body, never of a slow answer", async () => {
    // node:http checks these only on connections it tracks, from its own "listening" event, which
    // a server handed its sockets never gets: without the listener's start of it, both hang on.
    listener = await listen(handler, { host: "127.0.0.1", port: 0, h1Arrival: { headersTimeoutMs: 300, requestTimeoutMs: 600, checkIntervalMs: 50 } });
    const { port } = listener;
    const stalled = (bytes: string) => {
      const socket = connect(port, "127.0.0.1");
      const closed = new Promise<number>((resolve) => socket.once("close", () => resolve(Date.now())));
      socket.on("error", () => {});
      socket.resume();
      socket.write(bytes);
      onTestFinished(() => void socket.destroy());
      return closed;
    };
    const started = Date.now();
    const midHeaders = stalled("POST /x HTTP/1.1\r\nHost: x\r\n");
    const midBody = stalled('POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{"model":');
    const slow = getH1(listener.url, "/slow?ms=1500");
    expect((await midHeaders) - started).toBeGreaterThanOrEqual(250);
    expect((await midBody) - started).toBeGreaterThanOrEqual(550);
    expect(await slow).toEqual({ status: 200, body: "HTTP/1.1" });
  });

  it("cuts what is still running when the grace period ends", async () => {
    listener = await listen(handler, { host: "127.0.0.1", port: 0 });
    const hung = getH1(listener.url, "/hang").catch((err: unknown) => err);
    await waitFor(() => listener!.inFlight() === 1);
    const started = Date.now();
    await listener.shutdown(200);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(190);
    expect(elapsed).toBeLessThan(3_000);
    expect(await hung).toMatchObject({ code: "ECONNRESET" });
  });
});

async function waitFor(predicate: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}
