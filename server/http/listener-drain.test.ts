import { Agent, request as h1Request } from "node:http";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { connectNodeAdapter, createGrpcTransport } from "@connectrpc/connect-node";
import { afterEach, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/ts/grpc/health/v1/health_pb.js";
import type { RequestHandler } from "../server.js";
import { listen, type Listener } from "./listener.js";

/*
 * P16 ("SIGTERM: no new streams are accepted, in-flight streams shorter than the drain timeout
 * finish with 0 client errors") for HTTP/1.1 keep-alive clients — which connect-node's Connect
 * transport over HTTP/1.1 is (Node's global agent keeps connections alive from Node 19).
 */

/** Answers `/slow?ms=N` after N ms. */
const handler: RequestHandler = (req, res) => {
  const url = new URL(req.url ?? "/", "http://x");
  setTimeout(() => {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("ok");
  }, Number(url.searchParams.get("ms") ?? 0));
};

type Answer = { status?: number; connection?: string; err?: string; at: number };
function get(agent: Agent, base: string, path: string): Promise<Answer> {
  return new Promise((resolve) => {
    const req = h1Request(`${base}${path}`, { agent }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, at: Date.now() }));
      res.on("error", (e: NodeJS.ErrnoException) => resolve({ err: e.code ?? e.message, at: Date.now() }));
    });
    req.on("error", (e: NodeJS.ErrnoException) => resolve({ err: e.code ?? e.message, at: Date.now() }));
    req.end();
  });
}

let listener: Listener | undefined;
const agents: Agent[] = [];
afterEach(async () => {
  for (const a of agents.splice(0)) a.destroy();
  await listener?.shutdown(0);
  listener = undefined;
});

async function waitFor(predicate: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("HTTP/1.1 keep-alive clients during a drain (P16)", () => {
  it("answers a request in flight at the drain with Connection: close and accepts no new call on its connection", async () => {
    listener = await listen(handler, { host: "127.0.0.1", port: 0 });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    agents.push(agent);
    expect((await get(agent, listener.url, "/slow?ms=1")).status).toBe(200);
    const inFlight = get(agent, listener.url, "/slow?ms=150");
    await waitFor(() => listener!.inFlight() === 1);
    const closed = listener.shutdown(5_000);
    const first = await inFlight;
    // The next call, sent on the connection the agent kept: a new call during the drain.
    const next = await get(agent, listener.url, "/slow?ms=1");
    await closed;
    expect({ first: { status: first.status, connection: first.connection }, nextServed: next.status === 200 }).toEqual({
      first: { status: 200, connection: "close" },
      nextServed: false,
    });
  });

  it("a keep-alive client calling in a loop does not keep the drain open until the grace cuts its call", async () => {
    listener = await listen(handler, { host: "127.0.0.1", port: 0 });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    agents.push(agent);
    expect((await get(agent, listener.url, "/slow?ms=1")).status).toBe(200);
    let draining = false;
    const answers: Answer[] = [];
    const loop = (async () => {
      for (let i = 0; i < 40; i++) {
        const a = await get(agent, listener!.url, "/slow?ms=100");
        if (draining) answers.push(a);
        if (a.err !== undefined) return;
      }
    })();
    await waitFor(() => listener!.inFlight() === 1);
    const started = Date.now();
    draining = true;
    await listener.shutdown(1_000);
    const drainMs = Date.now() - started;
    await loop;
    const served = answers.filter((a) => a.status === 200).length;
    const cut = answers.filter((a) => a.err === "ECONNRESET").length;
    // At most the call in flight when the drain began is served, and no call is cut by the grace's end.
    expect({ servedDuringDrain: served <= 1, cutCalls: cut, drainMs: drainMs < 1_000 }).toEqual({ servedDuringDrain: true, cutCalls: 0, drainMs: true });
  });
});

describe("gRPC clients during a drain (P16)", () => {
  it("a call the client sends as the GOAWAY leaves is served or refused as Unavailable, never failed as Internal", async () => {
    const adapter = connectNodeAdapter({
      routes: (router) =>
        router.service(Health, {
          async check(req) {
            await new Promise((r) => setTimeout(r, Number(req.service || 0)));
            return { status: HealthCheckResponse_ServingStatus.SERVING };
          },
          async *watch() {
            for (let i = 0; i < 5; i++) {
              await new Promise((r) => setTimeout(r, 100));
              yield { status: HealthCheckResponse_ServingStatus.SERVING };
            }
          },
        }),
    });
    listener = await listen(adapter as RequestHandler, { host: "127.0.0.1", port: 0 });
    const client = createClient(Health, createGrpcTransport({ baseUrl: listener.url }));
    await client.check({ service: "1" });
    // A stream in flight keeps the session (and the drain) open.
    const stream = (async () => {
      let n = 0;
      for await (const _ of client.watch({})) n++;
      return n;
    })();
    await waitFor(() => listener!.inFlight() === 1);
    // A call on its way (sent on the open session) as the drain begins, before the server read it.
    const call = client.check({ service: "10" }).then(
      () => "ok",
      (e: unknown) => `${Code[ConnectError.from(e).code]}: ${ConnectError.from(e).rawMessage}`,
    );
    await new Promise((r) => setImmediate(r));
    const closed = listener.shutdown(5_000);
    const outcome = await call;
    expect(await stream).toBe(5);
    await closed;
    expect(outcome === "ok" || outcome.startsWith("Unavailable"), outcome).toBe(true);
  });
});
