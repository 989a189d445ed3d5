import { createConnection, createServer, type Server, type Socket } from "node:net";

/** How the proxy treats traffic. */
export type ProxyMode =
  /** Pass bytes both ways. */
  | "forward"
  /** Stop listening and drop every connection: new connections are refused (Postgres "down"). */
  | "closed"
  /** Keep connections open but move no bytes (Postgres frozen, e.g. SIGSTOP or a partition). */
  | "blackhole";

/** A loopback TCP proxy in front of one target, whose failure mode a test switches. */
export interface TcpProxy {
  /** The port the proxy listens on (stable across `closed` → `forward`). */
  readonly port: number;
  /** `url` with its host and port replaced by the proxy's. */
  rewrite(url: string): string;
  setMode(mode: ProxyMode): Promise<void>;
  /** Closes the listener and every connection for good. */
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream?: Socket;
}

/**
 * Starts a proxy on 127.0.0.1 forwarding to `target`. Written for the outage tests: closing it
 * makes the database unreachable (connections refused, pooled ones reset); "blackhole" makes it
 * hang without an error.
 */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<Pair>();
  let mode: ProxyMode = "forward";
  let server: Server;
  let port = 0;

  const connectUpstream = (pair: Pair) => {
    const upstream = createConnection(target);
    pair.upstream = upstream;
    pair.client.pipe(upstream);
    upstream.pipe(pair.client);
    upstream.on("error", () => pair.client.destroy());
    upstream.on("close", () => pair.client.destroy());
    pair.client.resume();
  };
  const onConnection = (client: Socket) => {
    const pair: Pair = { client };
    pairs.add(pair);
    client.on("error", () => pair.upstream?.destroy());
    client.on("close", () => {
      pair.upstream?.destroy();
      pairs.delete(pair);
    });
    if (mode === "forward") connectUpstream(pair);
    else client.pause();
  };
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server = createServer(onConnection);
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        port = (server.address() as { port: number }).port;
        resolve();
      });
    });
  const stopListening = () => new Promise<void>((resolve) => server.close(() => resolve()));
  const destroyAll = () => {
    for (const pair of pairs) {
      pair.client.destroy();
      pair.upstream?.destroy();
    }
    pairs.clear();
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
      if (next === mode) return;
      const previous = mode;
      mode = next;
      if (next === "closed") {
        const stopped = stopListening();
        destroyAll();
        await stopped;
        return;
      }
      if (previous === "closed") await listen();
      for (const pair of pairs) {
        if (next === "blackhole") {
          // Unpiped and paused: bytes wait in the kernel buffers, nothing errors.
          if (pair.upstream !== undefined) {
            pair.client.unpipe(pair.upstream);
            pair.upstream.unpipe(pair.client);
            pair.upstream.pause();
          }
          pair.client.pause();
        } else if (pair.upstream === undefined) {
          connectUpstream(pair);
        } else {
          pair.client.pipe(pair.upstream);
          pair.upstream.pipe(pair.client);
        }
      }
    },
    async close() {
      const stopped = mode === "closed" ? Promise.resolve() : stopListening();
      mode = "closed";
      destroyAll();
      await stopped;
    },
  };
}
