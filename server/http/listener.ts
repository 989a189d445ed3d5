import { createServer as createHttp1Server, type Server as Http1Server, type ServerResponse } from "node:http";
import { constants as h2Constants, createServer as createHttp2Server, type Http2Server, type ServerHttp2Session } from "node:http2";
import { createServer as createNetServer, type AddressInfo, type Socket } from "node:net";
import type { RequestHandler } from "../server.js";
import { SESSION_POLICY, superviseSession, type SessionPolicy } from "./h2-sessions.js";

/** The first bytes of every HTTP/2 prior-knowledge connection (RFC 9113 §3.4). */
const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/** Options of {@link listen}. */
export interface ListenOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** When HTTP/2 sessions are let go (idle timeout, grace after GOAWAY); default {@link SESSION_POLICY}. */
  h2Sessions?: SessionPolicy;
  /** How long an HTTP/1.1 request may take to arrive; default {@link REQUEST_ARRIVAL}. */
  h1Arrival?: RequestArrival;
}

/**
 * How long an HTTP/1.1 request may take to arrive — its headers, and its headers and body — and
 * how often that is checked (node:http's `connectionsCheckingInterval`). Only the receiving of a
 * request: a long streamed answer is bounded by its deadline and `writeStallTimeoutMs` instead.
 */
export interface RequestArrival {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  checkIntervalMs: number;
}

/**
 * Slow clients must not hold sockets forever (P23, slowloris); five minutes is generous for a
 * large upload. (HTTP/2 sessions have their own idle bound, {@link SESSION_POLICY}.)
 */
export const REQUEST_ARRIVAL: RequestArrival = { headersTimeoutMs: 30_000, requestTimeoutMs: 300_000, checkIntervalMs: 30_000 };

/**
 * The streams one HTTP/2 connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS), as
 * the per-key in-flight cap's default; a client that needs more opens another connection.
 */
export const MAX_CONCURRENT_STREAMS = 256;

/** A listening gateway. */
export interface Listener {
  /** `http://host:port`, with the port actually bound. */
  readonly url: string;
  readonly port: number;
  /** Requests and streams in flight now, on both protocols. */
  inFlight(): number;
  /** Client connections open now, on both protocols. */
  openConnections(): number;
  /**
   * Stops accepting connections, lets in-flight requests and streams finish for up to `graceMs`,
   * then closes whatever is left. Resolves when every connection is gone.
   */
  shutdown(graceMs: number): Promise<void>;
}

/**
 * Serves `handler` on one port for every protocol: a connection that opens with the HTTP/2
 * preface goes to an h2c server (gRPC, Connect and gRPC-Web over HTTP/2), any other to an
 * HTTP/1.1 server (Connect, gRPC-Web, /metrics, the OpenAI surface). One port keeps deployment
 * and `buf curl` simple; the sniff costs one peek at the first chunk of each connection.
 */
export async function listen(handler: RequestHandler, opts: ListenOptions): Promise<Listener> {
  let inFlight = 0;
  let draining = false;
  /** HTTP/1.1 responses in flight, to answer with `Connection: close` once draining. */
  const h1Responses = new Set<ServerResponse>();
  const counted: RequestHandler = (req, res) => {
    inFlight++;
    if (req.httpVersionMajor === 1) {
      const h1Res = res as ServerResponse;
      // HTTP/1.1 has no GOAWAY: a keep-alive client (connect-node's Connect transport is one)
      // would send its next call on the same connection during the drain, to be cut at its end.
      if (draining) h1Res.shouldKeepAlive = false;
      h1Responses.add(h1Res);
      res.once("close", () => {
        inFlight--;
        h1Responses.delete(h1Res);
      });
    } else res.once("close", () => inFlight--);
    handler(req, res);
  };
  const arrival = opts.h1Arrival ?? REQUEST_ARRIVAL;
  const h1: Http1Server = createHttp1Server({ connectionsCheckingInterval: arrival.checkIntervalMs }, counted);
  h1.headersTimeout = arrival.headersTimeoutMs;
  h1.requestTimeout = arrival.requestTimeoutMs;
  h1.keepAliveTimeout = 65_000;
  // node:http tracks its connections — and so enforces the two timeouts above, and lets
  // `closeIdleConnections` find idle ones — from its own "listening" event, which a server that
  // is handed its sockets (`emit("connection")`, below) never gets: start the tracking here.
  h1.emit("listening");
  // Node's default is 2^32 - 1 streams per session: one connection could hold any number of calls.
  const h2: Http2Server = createHttp2Server({ settings: { maxConcurrentStreams: MAX_CONCURRENT_STREAMS } }, counted);
  const sessions = new Set<ServerHttp2Session>();
  h2.on("session", (session) => {
    sessions.add(session);
    superviseSession(session, { requestTimeoutMs: arrival.requestTimeoutMs, ...(opts.h2Sessions ?? SESSION_POLICY) });
    session.once("close", () => sessions.delete(session));
  });
  const sockets = new Set<Socket>();
  // node:http turns Nagle off on the sockets it accepts itself (`noDelay`), not on sockets handed
  // to it by `emit("connection")`: without this, a response written in pieces (headers, then
  // each streamed message) waited for the peer's ACK before its next segment left — ≈ 1 ms on
  // the first token of an HTTP/1.1 stream (bench/README.md). Small h2 frames gain the same.
  const net = createNetServer({ noDelay: true }, (socket) => {
    // The peer's address, read now while the connection is open, stays on the socket (Node keeps
    // the first answer); read for the first time after the client reset the connection, it is
    // undefined — and the unknown-key throttle counts callers by it (server/auth/client-address.ts).
    void socket.remoteAddress;
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    route(socket, h1, h2, arrival.headersTimeoutMs);
  });
  await new Promise<void>((resolve, reject) => {
    net.once("error", reject);
    net.listen(opts.port, opts.host, () => {
      net.off("error", reject);
      resolve();
    });
  });
  const port = (net.address() as AddressInfo).port;
  const host = opts.host.includes(":") ? `[${opts.host}]` : opts.host;

  let closing: Promise<void> | undefined;
  const shutdown = (graceMs: number): Promise<void> => {
    closing ??= (async () => {
      draining = true;
      for (const res of h1Responses) if (!res.headersSent) res.shouldKeepAlive = false;
      const closed = new Promise<void>((resolve) => net.close(() => resolve()));
      // HTTP/2: GOAWAY lets open streams finish and refuses new ones on the session — in two
      // steps (RFC 9113 §6.8): first a GOAWAY that refuses nothing, then, once a PING has made
      // the round trip (the client has seen it and sends no new stream), the one that closes.
      // A single GOAWAY refuses the calls already on their way (REFUSED_STREAM), which
      // connect-node's client reports as Internal.
      for (const session of sessions) {
        if (session.closed || session.destroyed) continue;
        session.goaway(h2Constants.NGHTTP2_NO_ERROR, 2 ** 31 - 1);
        if (!session.ping(() => session.close())) session.close();
      }
      h1.closeIdleConnections();
      const deadline = Date.now() + graceMs;
      while (inFlight > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 25));
        h1.closeIdleConnections();
      }
      for (const session of sessions) session.destroy();
      for (const socket of sockets) socket.destroy();
      await closed;
    })();
    return closing;
  };
  return { url: `http://${host}:${port}`, port, inFlight: () => inFlight, openConnections: () => sockets.size, shutdown };
}

/**
 * Hands a new connection to the HTTP/2 or HTTP/1.1 server by its first bytes; one that has not
 * shown which within `headersTimeoutMs` (silent, or a prefix of the preface) is closed, as
 * node:http closes a connection whose headers have not arrived by then.
 */
function route(socket: Socket, h1: Http1Server, h2: Http2Server, headersTimeoutMs: number): void {
  let seen = Buffer.alloc(0);
  const timer = setTimeout(() => socket.destroy(), headersTimeoutMs);
  timer.unref();
  socket.once("close", () => clearTimeout(timer));
  const onData = (chunk: Buffer) => {
    seen = Buffer.concat([seen, chunk]);
    const n = Math.min(seen.length, H2_PREFACE.length);
    const isH2 = seen.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
    if (isH2 && seen.length < H2_PREFACE.length) return; // a prefix of the preface: wait for more
    clearTimeout(timer);
    socket.off("data", onData);
    socket.pause();
    socket.unshift(seen);
    if (isH2) {
      // The HTTP/2 session reads what is buffered on the next tick (node#35475); resuming here
      // would hand the preface to nobody.
      h2.emit("connection", socket);
    } else {
      h1.emit("connection", socket);
      socket.resume();
    }
  };
  socket.on("data", onData);
}
