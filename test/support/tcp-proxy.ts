/**
 * A loopback TCP fault proxy in front of one store (Postgres or Redis) with the Toxiproxy toxics
 * the tests need: forward, blackhole (`timeout` 0), vanish, added latency, reset (`reset_peer`) and
 * closed. The outage tests switch one; the soak (`test/soak/`) puts one in front of each replica's
 * stores and its nemesis switches them.
 */
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { freePort } from "./free-port.js";

/** How the proxy treats traffic. */
export type ProxyMode =
  /** Pass bytes both ways. */
  | "forward"
  /** Stop listening and drop every connection: new connections are refused (a dead process). */
  | "closed"
  /**
   * Keep connections open but move no bytes (a frozen peer, e.g. SIGSTOP or a partition); the
   * held bytes flow on, in order, once the proxy forwards again.
   */
  | "blackhole"
  /**
   * The peer vanished without a word (its host lost power, a failover moved its address, a NAT
   * forgot the flow): the connections open now move no byte ever again, not even once the proxy
   * forwards — what they held is lost, and no FIN or RST ever comes. New connections are held as in
   * `blackhole` until the proxy forwards again (the replacement is up).
   */
  | "vanish"
  /** Reset every open connection once, then forward (Toxiproxy `reset_peer`). */
  | "reset"
  /** Delay every chunk in both directions by `latencyMs` (Toxiproxy `latency`). */
  | { latencyMs: number };

/** Options of {@link startTcpProxy}. */
export interface TcpProxyOptions {
  /**
   * How `closed` drops the open connections: with a reset (RST, as the soak does) rather than
   * an orderly close (FIN, the default).
   */
  resetOnClose?: boolean;
}

/** A loopback TCP proxy in front of one target, whose failure mode a test switches. */
export interface TcpProxy {
  /** The port the proxy listens on (stable across `closed` → `forward`). */
  readonly port: number;
  /** `url` with its host and port replaced by the proxy's (path, user and query kept). */
  rewrite(url: string): string;
  setMode(mode: ProxyMode): Promise<void>;
  /** Closes the listener and every connection for good. */
  close(): Promise<void>;
}

interface Link {
  client: Socket;
  upstream: Socket;
  /** Chunks held while in `blackhole`, with their direction, relayed on resume. */
  held: Array<{ to: Socket; chunk: Buffer }>;
  /** Open when the mode went to `vanish`: its bytes are dropped for good. */
  vanished?: boolean;
}

/** Starts a proxy on 127.0.0.1 forwarding to `target`. */
export async function startTcpProxy(target: { host: string; port: number }, opts: TcpProxyOptions = {}): Promise<TcpProxy> {
  const links = new Set<Link>();
  let mode: ProxyMode = "forward";
  let server: Server | undefined;
  let port = 0;

  /**
   * Chunks on their way to a socket, each with when it may be written, delivered strictly in
   * order: a byte stream must never be reordered — not when the latency changes, nor when the
   * mode goes back to `forward` while delayed chunks are still on their way.
   */
  const lanes = new WeakMap<Socket, { queue: { at: number; chunk: Buffer }[]; timer?: NodeJS.Timeout }>();
  const pump = (to: Socket): void => {
    const lane = lanes.get(to);
    if (lane === undefined || lane.timer !== undefined) return;
    while (lane.queue.length > 0 && lane.queue[0]!.at <= Date.now()) {
      const { chunk } = lane.queue.shift()!;
      if (!to.destroyed) to.write(chunk);
    }
    if (lane.queue.length > 0) {
      lane.timer = setTimeout(() => {
        lane.timer = undefined;
        pump(to);
      }, lane.queue[0]!.at - Date.now());
    }
  };
  const deliver = (to: Socket, chunk: Buffer, delayMs: number): void => {
    let lane = lanes.get(to);
    if (lane === undefined) lanes.set(to, (lane = { queue: [] }));
    if (delayMs === 0 && lane.queue.length === 0) {
      if (!to.destroyed) to.write(chunk);
      return;
    }
    lane.queue.push({ at: Date.now() + delayMs, chunk });
    pump(to);
  };
  const relay = (link: Link, to: Socket, chunk: Buffer) => {
    if (link.vanished === true) return;
    if (mode === "blackhole" || mode === "vanish") {
      link.held.push({ to, chunk });
      return;
    }
    deliver(to, chunk, typeof mode === "object" ? mode.latencyMs : 0);
  };
  const onConnection = (client: Socket) => {
    const upstream = createConnection(target);
    // Nagle off on both legs, as ioredis, pg and node:http set it on theirs: with it on, a small
    // write behind an unacknowledged one waits for the peer's delayed ACK (≈ 40 ms on Linux), a
    // stall no real network link adds.
    client.setNoDelay(true);
    upstream.setNoDelay(true);
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
  const dropAll = (reset: boolean) => {
    for (const link of links) {
      if (reset) link.client.resetAndDestroy();
      else link.client.destroy();
      link.upstream.destroy();
    }
    links.clear();
  };

  // The port comes from below the ephemeral range (freePort): `closed` → `forward` listens on it
  // again, and while closed an outbound connection could otherwise take it.
  for (let tries = 0; ; tries++) {
    port = await freePort();
    try {
      await listen();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EADDRINUSE" || tries >= 5) throw err;
    }
  }
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
      if (next === "reset") {
        dropAll(true);
        mode = "forward";
      } else {
        mode = next;
      }
      if (mode === "closed") {
        const stopped = stopListening();
        dropAll(opts.resetOnClose === true);
        await stopped;
        return;
      }
      if (mode === "vanish" && previous !== "vanish") {
        for (const link of links) {
          link.vanished = true;
          link.held.length = 0;
        }
      }
      if (previous === "closed") await listen();
      if ((previous === "blackhole" || previous === "vanish") && mode !== "blackhole" && mode !== "vanish") {
        for (const link of links) {
          for (const { to, chunk } of link.held.splice(0)) relay(link, to, chunk);
        }
      }
    },
    async close() {
      mode = "closed";
      const stopped = stopListening();
      dropAll(opts.resetOnClose === true);
      await stopped;
    },
  };
}
