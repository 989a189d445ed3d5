import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";

/**
 * Reads a whole request body, refusing it with `tooLarge` as soon as it passes `maxBytes` — before
 * reading when `content-length` announces more (`tooLarge(announced)`), else once the bytes read
 * pass it (`tooLarge(undefined)`). The rest of a refused body is read and dropped rather than the
 * connection reset, so the refusal reaches the caller. A body read in one chunk is not copied.
 */
export function readBody(req: IncomingMessage | Http2ServerRequest, maxBytes: number, tooLarge: (announced: number | undefined) => Error): Promise<Buffer> {
  const announced = Number(req.headers["content-length"]);
  if (Number.isFinite(announced) && announced > maxBytes) {
    req.resume();
    return Promise.reject(tooLarge(announced));
  }
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("aborted", onAborted);
    };
    const onData = (chunk: Buffer | string) => {
      const buf = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      size += buf.byteLength;
      if (size > maxBytes) {
        cleanup();
        req.resume();
        reject(tooLarge(undefined));
        return;
      }
      chunks.push(buf);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onAborted = () => onError(new Error("the client aborted the request"));
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("aborted", onAborted);
  });
}
