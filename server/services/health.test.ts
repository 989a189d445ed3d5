import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { createGrpcTransport, connectNodeAdapter } from "@connectrpc/connect-node";
import { describe, expect, it, vi } from "vitest";
import { Health } from "../../gen/ts/grpc/health/v1/health_pb.js";
import { createHealthService, createHealthStatus, ServingStatus, type HealthStatus } from "./health.js";

function setup(status: HealthStatus = createHealthStatus({ services: ["switchboard.v1.ChatService"] }), maxListServices?: number) {
  const transport = createRouterTransport((router) => {
    router.service(Health, createHealthService({ status, maxListServices }));
  });
  return { status, client: createClient(Health, transport) };
}

/** Reads the next message of a stream, failing the test instead of hanging. */
async function next<T>(it: AsyncIterator<T>): Promise<IteratorResult<T>> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("no message within 2s")), 2_000);
  });
  try {
    return await Promise.race([it.next(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe("createHealthService", () => {
  it("Check answers the whole server and registered services", async () => {
    const { client, status } = setup();
    expect((await client.check({})).status).toBe(ServingStatus.SERVING);
    status.set("switchboard.v1.ChatService", ServingStatus.NOT_SERVING);
    expect((await client.check({ service: "switchboard.v1.ChatService" })).status).toBe(ServingStatus.NOT_SERVING);
  });

  it("Check fails with NotFound for an unknown service", async () => {
    const { client } = setup();
    const err = await client.check({ service: "nope.v1.Nope" }).catch((e: unknown) => ConnectError.from(e));
    expect(err).toBeInstanceOf(ConnectError);
    expect(err).toMatchObject({ code: Code.NotFound, rawMessage: 'unknown service "nope.v1.Nope"' });
  });

  it("Watch sends the current status, then each change, dropping repeats", async () => {
    const { client, status } = setup();
    const abort = new AbortController();
    const stream = client.watch({ service: "switchboard.v1.ChatService" }, { signal: abort.signal })[Symbol.asyncIterator]();
    expect((await next(stream)).value?.status).toBe(ServingStatus.SERVING);
    status.set("switchboard.v1.ChatService", ServingStatus.SERVING); // a repeat: not sent
    status.set("switchboard.v1.ChatService", ServingStatus.NOT_SERVING);
    expect((await next(stream)).value?.status).toBe(ServingStatus.NOT_SERVING);
    status.set("switchboard.v1.ChatService", ServingStatus.SERVING);
    expect((await next(stream)).value?.status).toBe(ServingStatus.SERVING);
    abort.abort();
    await expect(next(stream)).rejects.toMatchObject({ code: Code.Canceled });
  });

  it("Watch reports an unknown service as SERVICE_UNKNOWN and keeps watching", async () => {
    const { client, status } = setup();
    const abort = new AbortController();
    const stream = client.watch({ service: "later.v1.Later" }, { signal: abort.signal })[Symbol.asyncIterator]();
    expect((await next(stream)).value?.status).toBe(ServingStatus.SERVICE_UNKNOWN);
    status.set("later.v1.Later", ServingStatus.SERVING);
    expect((await next(stream)).value?.status).toBe(ServingStatus.SERVING);
    abort.abort();
  });

  it("shutdown flips everything to NOT_SERVING, ends watches and ignores later updates", async () => {
    const { client, status } = setup();
    const stream = client.watch({})[Symbol.asyncIterator]();
    expect((await next(stream)).value?.status).toBe(ServingStatus.SERVING);
    status.shutdown();
    expect((await next(stream)).value?.status).toBe(ServingStatus.NOT_SERVING);
    expect((await next(stream)).done).toBe(true);

    status.set("", ServingStatus.SERVING);
    expect(status.isShutdown).toBe(true);
    expect((await client.check({})).status).toBe(ServingStatus.NOT_SERVING);
    expect((await client.check({ service: "switchboard.v1.ChatService" })).status).toBe(ServingStatus.NOT_SERVING);
    // A watch that starts after shutdown reports the final status and ends.
    const late: number[] = [];
    for await (const res of client.watch({})) late.push(res.status);
    expect(late).toEqual([ServingStatus.NOT_SERVING]);
  });

  it("List returns every service, and ResourceExhausted above the limit", async () => {
    const { client, status } = setup(undefined, 2);
    status.set("switchboard.v1.ChatService", ServingStatus.NOT_SERVING);
    const res = await client.list({});
    expect(Object.fromEntries(Object.entries(res.statuses).map(([k, v]) => [k, v.status]))).toEqual({
      "": ServingStatus.SERVING,
      "switchboard.v1.ChatService": ServingStatus.NOT_SERVING,
    });
    status.set("third.v1.Third", ServingStatus.SERVING);
    await expect(client.list({})).rejects.toMatchObject({ code: Code.ResourceExhausted });
  });
});

describe("createHealthStatus", () => {
  it("starts with the given status, and refuses SERVICE_UNKNOWN", () => {
    const status = createHealthStatus({ services: ["a"], initial: ServingStatus.NOT_SERVING });
    expect(status.entries()).toEqual([
      ["", ServingStatus.NOT_SERVING],
      ["a", ServingStatus.NOT_SERVING],
    ]);
    expect(status.get("b")).toBeUndefined();
    expect(() => status.set("a", ServingStatus.SERVICE_UNKNOWN)).toThrow(RangeError);
  });

  it("watch coalesces changes a slow reader missed into the latest status", async () => {
    const status = createHealthStatus();
    const abort = new AbortController();
    const watch = status.watch("", abort.signal)[Symbol.asyncIterator]();
    expect((await next(watch)).value).toBe(ServingStatus.SERVING);
    status.set("", ServingStatus.NOT_SERVING);
    status.set("", ServingStatus.UNKNOWN);
    status.set("", ServingStatus.NOT_SERVING);
    expect((await next(watch)).value).toBe(ServingStatus.NOT_SERVING);
    const pending = next(watch);
    abort.abort();
    expect((await pending).done).toBe(true);
  });
});

describe("Watch over a real h2c connection", () => {
  it("releases the server-side watch when the caller cancels", async () => {
    const inner = createHealthStatus();
    let active = 0;
    // Counts watches that are open on the server; connect-node must end ours on cancel.
    const status: HealthStatus = Object.assign(Object.create(inner) as HealthStatus, {
      async *watch(service: string, signal: AbortSignal) {
        active++;
        try {
          yield* inner.watch(service, signal);
        } finally {
          active--;
        }
      },
    });
    const sessions = new Set<http2.ServerHttp2Session>();
    const server = http2.createServer(
      connectNodeAdapter({ routes: (router) => router.service(Health, createHealthService({ status })) }),
    );
    server.on("session", (session) => sessions.add(session));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const client = createClient(Health, createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}` }));
      const abort = new AbortController();
      const stream = client.watch({}, { signal: abort.signal })[Symbol.asyncIterator]();
      expect((await next(stream)).value?.status).toBe(ServingStatus.SERVING);
      inner.set("", ServingStatus.NOT_SERVING);
      expect((await next(stream)).value?.status).toBe(ServingStatus.NOT_SERVING);
      expect(active).toBe(1);
      abort.abort();
      await expect(next(stream)).rejects.toMatchObject({ code: Code.Canceled });
      await vi.waitFor(() => expect(active).toBe(0), { timeout: 2_000 });
    } finally {
      for (const session of sessions) session.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
