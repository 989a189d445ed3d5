/**
 * A loopback TCP fault proxy with Toxiproxy's toxics that the soak needs, in front of one store
 * (Postgres or Redis) for one replica. `test/support/tcp-proxy.ts` has forward / closed /
 * blackhole; the soak also needs added latency and a reset that keeps accepting, so this is its
 * own small proxy rather than a wider shared one.
 */
import { createConnection, createServer, type Server, type Socket } from "node:net";

/** What the proxy does to traffic. */
export type FaultMode =
  /** Pass bytes both ways. */
  | { kind: "forward" }
  /** Delay every chunk in both directions by `ms` (Toxiproxy `latency`). */
  | { kind: "latency"; ms: number }
  /** Keep connections, move no bytes: a frozen peer (Toxiproxy `timeout` 0, or SIGSTOP). */
  | { kind: "hang" }
  /** Reset every open connection once, then forward again (Toxiproxy `reset_peer`). */
  | { kind: "reset" }
  /** Stop listening and drop every connection: refused, like a dead process. */
  | { kind: "closed" };

/** A fault proxy whose mode the nemesis switches. */
export interface FaultProxy {
  /** The port it listens on (stable across `closed` → `forward`). */
  readonly port: number;
  /** `url` with host and port replaced by the proxy's (path, user and query kept). */
  rewrite(url: string): string;
  setMode(mode: FaultMode): Promise<void>;
  close(): Promise<void>;
}

interface Link {
  client: Socket;
  upstream: Socket;
  /** Chunks held while hanging, per direction, flushed on resume. */
  held: Array<{ to: Socket; chunk: Buffer }>;
}

/** Starts a fault proxy on 127.0.0.1 for `target`. */
export async function startFaultProxy(target: { host: string; port: number }): Promise<FaultProxy> {
  const links = new Set<Link>();
  let mode: FaultMode = { kind: "forward" };
  let server: Server | undefined;
  let port = 0;

  const relay = (link: Link, to: Socket, chunk: Buffer) => {
    if (mode.kind === "hang") {
      link.held.push({ to, chunk });
      return;
    }
    if (mode.kind === "latency") {
      const ms = mode.ms;
      setTimeout(() => to.destroyed || to.write(chunk), ms);
      return;
    }
    if (!to.destroyed) to.write(chunk);
  };
  const onConnection = (client: Socket) => {
    const upstream = createConnection(target);
    const link: Link = { client, upstream, held: [] };
    links.add(link);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      links.delete(link);
    };
    client.on("data", (c: Buffer) => relay(link, upstream, c));
    upstream.on("data", (c: Buffer) => relay(link, client, c));
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
  };
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer(onConnection);
      s.once("error", reject);
      s.listen(port, "127.0.0.1", () => {
        port = (s.address() as { port: number }).port;
        server = s;
        resolve();
      });
    });
  const stopListening = () =>
    new Promise<void>((resolve) => {
      const s = server;
      server = undefined;
      if (s === undefined) resolve();
      else s.close(() => resolve());
    });
  const resetAll = () => {
    for (const link of links) {
      link.client.resetAndDestroy();
      link.upstream.destroy();
    }
    links.clear();
  };

  await listen();
  return {
    get port() {
      return port;
    },
    rewrite(url) {
      const u = new URL(url);
      u.hostname = "127.0.0.1";
      u.port = String(port);
      return u.toString();
    },
    async setMode(next) {
      const previous = mode;
      if (next.kind === "reset") {
        resetAll();
        mode = { kind: "forward" };
      } else {
        mode = next;
      }
      if (mode.kind === "closed") {
        const stopped = stopListening();
        resetAll();
        await stopped;
        return;
      }
      if (previous.kind === "closed") await listen();
      if (previous.kind === "hang") {
        for (const link of links) {
          for (const { to, chunk } of link.held.splice(0)) relay(link, to, chunk);
        }
      }
    },
    async close() {
      mode = { kind: "closed" };
      const stopped = stopListening();
      resetAll();
      await stopped;
    },
  };
}
