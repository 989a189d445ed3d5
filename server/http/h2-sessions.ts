import { constants as h2Constants, type ServerHttp2Session, type ServerHttp2Stream } from "node:http2";

/** When the listener lets go of an HTTP/2 session. */
export interface SessionPolicy {
  /** A session with no open stream for this long is closed (GOAWAY); as HTTP/1.1's keep-alive timeout. */
  idleMs: number;
  /** A session the peer said GOAWAY to, or we closed, is destroyed this long after its last stream ended if it has not closed by then. */
  graceMs: number;
  /**
   * How long a stream's request (its headers and body) may take to arrive before the stream is
   * reset (CANCEL); as HTTP/1.1's `requestTimeoutMs` (slowloris, P23). Default 300 s.
   */
  requestTimeoutMs?: number;
}

/** The default: HTTP/1.1's keep-alive timeout (65 s, longer than common load balancers' 60 s), one second's grace. */
export const SESSION_POLICY: SessionPolicy = { idleMs: 65_000, graceMs: 1_000, requestTimeoutMs: 300_000 };

/**
 * Keeps one server HTTP/2 session from outliving its use:
 * - idle (no open stream) for `idleMs`: closed with a GOAWAY, as Envoy's and Go's idle timeouts do,
 *   so clients that vanish without a FIN do not pin sockets forever;
 * - once the peer has sent GOAWAY, or we closed it, and no stream is open: destroyed after
 *   `graceMs` if it is still there;
 * - a stream answered before its body was read (a `readMaxBytes` refusal stops reading): once
 *   HTTP/2 has closed it, destroyed. Node ends a closed stream only when its unread data is
 *   consumed, and dumps that data only for streams nobody read from, so from Node 22 such a
 *   stream, and with it its session, stayed open until the process exited (on Node 24 the
 *   session even stops reading its socket and never sees the peer's GOAWAY or FIN).
 * Costs a `close` and a `finish` listener per stream; timers only for idle or ending sessions and
 * for streams answered early, all unref'd.
 */
export function superviseSession(session: ServerHttp2Session, policy: SessionPolicy = SESSION_POLICY): void {
  const open = new Set<ServerHttp2Stream>();
  let ending = false;
  let timer: NodeJS.Timeout | undefined;
  /** With no stream open: destroy an ending session after the grace, close an idle one after the idle timeout. */
  const whenQuiet = () => {
    clearTimeout(timer);
    if (open.size > 0) return;
    timer = ending ? setTimeout(reap, policy.graceMs) : setTimeout(idle, policy.idleMs);
    timer.unref();
  };
  const reap = () => {
    if (!session.destroyed) session.destroy();
  };
  const end = () => {
    ending = true;
    whenQuiet();
  };
  const idle = () => {
    session.close();
    end();
  };
  const requestTimeoutMs = policy.requestTimeoutMs ?? SESSION_POLICY.requestTimeoutMs!;
  session.on("stream", (stream: ServerHttp2Stream) => {
    open.add(stream);
    clearTimeout(timer);
    // A request whose body has not all arrived by then is reset: without this, a stream whose
    // body never comes (a gRPC call without a deadline) held its call and its memory forever.
    const arrival = setTimeout(() => {
      if (!stream.destroyed && !requestArrived(stream)) stream.close(h2Constants.NGHTTP2_CANCEL);
    }, requestTimeoutMs);
    arrival.unref();
    stream.once("finish", () => {
      if (!stream.readableEnded) releaseWhenClosed(stream, policy.graceMs);
    });
    stream.once("close", () => {
      clearTimeout(arrival);
      open.delete(stream);
      whenQuiet();
    });
  });
  session.once("goaway", end);
  session.once("close", () => clearTimeout(timer));
  whenQuiet();
}

/** Destroys an answered stream, whose body is no longer read, once HTTP/2 has closed it (checked every `everyMs`). */
function releaseWhenClosed(stream: ServerHttp2Stream, everyMs: number): void {
  const check = () => {
    if (stream.destroyed) return;
    if (stream.closed) stream.destroy();
    else setTimeout(check, everyMs).unref();
  };
  setTimeout(check, everyMs).unref();
}

/** Whether the peer has sent all of `stream`'s request (END_STREAM seen: half-closed remote, or closed). */
function requestArrived(stream: ServerHttp2Stream): boolean {
  if (stream.readableEnded) return true;
  const state = stream.state.state;
  return state === h2Constants.NGHTTP2_STREAM_STATE_HALF_CLOSED_REMOTE || state === h2Constants.NGHTTP2_STREAM_STATE_CLOSED;
}
