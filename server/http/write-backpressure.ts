/** What {@link writeWithBackpressure} uses of a response: HTTP/1.1's `ServerResponse` or HTTP/2's compat one. */
export interface WritableResponse {
  write(chunk: string | Uint8Array): boolean;
  /** HTTP/1.1's; HTTP/2's compat response has none (its `stream` tells). */
  readonly destroyed?: boolean;
  readonly writableEnded: boolean;
  /** HTTP/2's compat response: the stream under it. */
  readonly stream?: { readonly destroyed: boolean; readonly closed: boolean };
  on(event: "drain" | "close", listener: () => void): unknown;
  off(event: "drain" | "close", listener: () => void): unknown;
  destroy(): unknown;
}

/**
 * How long a write may wait for a full socket buffer to drain before the response is given up
 * (`server.writeStallTimeoutMs`). A model stream is slow (tokens, not megabytes), so a buffer that
 * stays full this long means a caller that stopped reading but keeps its connection open — or an
 * HTTP/2 client that never opens its flow-control window. Unbounded, such a caller would keep its
 * stream, in-flight slot and budget hold for as long as the connection lives (P12, P23).
 */
export const DEFAULT_WRITE_STALL_MS = 30_000;

/** Whether nothing written to `res` can arrive any more (the caller went away, or it ended). */
export function responseGone(res: WritableResponse): boolean {
  return res.destroyed === true || res.writableEnded || (res.stream !== undefined && (res.stream.destroyed || res.stream.closed));
}

/**
 * Writes `data` and waits for the socket to drain when its buffer is full, so a slow reader
 * slows the model stream down instead of growing memory. Resolves false once the response is
 * closed (the caller went away) — or after `stallMs` without a drain, when the response is
 * destroyed as if the caller had gone: the stream then ends, is billed for what it consumed, and
 * gives back what it held. The timer exists only while a write waits.
 */
export async function writeWithBackpressure(res: WritableResponse, data: string | Uint8Array, stallMs = DEFAULT_WRITE_STALL_MS): Promise<boolean> {
  if (responseGone(res)) return false;
  if (res.write(data)) return true;
  // An HTTP/2 stream the client reset takes the write, returns false, and emits neither `drain`
  // nor `close` again (it closed before): waiting would never end.
  if (responseGone(res)) return false;
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(stalled);
      res.off("drain", onDrain);
      res.off("close", onClose);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    res.on("drain", onDrain);
    res.on("close", onClose);
    const stalled = setTimeout(() => {
      done(false);
      res.destroy();
    }, stallMs);
  });
}
