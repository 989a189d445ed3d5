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
}

/** Whether nothing written to `res` can arrive any more (the caller went away, or it ended). */
export function responseGone(res: WritableResponse): boolean {
  return res.destroyed === true || res.writableEnded || (res.stream !== undefined && (res.stream.destroyed || res.stream.closed));
}

/**
 * Writes `data` and waits for the socket to drain when its buffer is full, so a slow reader
 * slows the model stream down instead of growing memory. Resolves false once the response is
 * closed (the caller went away).
 */
export async function writeWithBackpressure(res: WritableResponse, data: string | Uint8Array): Promise<boolean> {
  if (responseGone(res)) return false;
  if (res.write(data)) return true;
  // An HTTP/2 stream the client reset takes the write, returns false, and emits neither `drain`
  // nor `close` again (it closed before): waiting would never end.
  if (responseGone(res)) return false;
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      res.off("drain", onDrain);
      res.off("close", onClose);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    res.on("drain", onDrain);
    res.on("close", onClose);
  });
}
