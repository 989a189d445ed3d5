/** What {@link writeWithBackpressure} uses of a response: HTTP/1.1's `ServerResponse` or HTTP/2's compat one. */
export interface WritableResponse {
  write(chunk: string | Uint8Array): boolean;
  readonly destroyed: boolean;
  readonly writableEnded: boolean;
  on(event: "drain" | "close", listener: () => void): unknown;
  off(event: "drain" | "close", listener: () => void): unknown;
}

/**
 * Writes `data` and waits for the socket to drain when its buffer is full, so a slow reader
 * slows the model stream down instead of growing memory. Resolves false once the response is
 * closed (the caller went away).
 */
export async function writeWithBackpressure(res: WritableResponse, data: string | Uint8Array): Promise<boolean> {
  if (res.destroyed || res.writableEnded) return false;
  if (res.write(data)) return true;
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
