import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { transformInvokeImplementation } from "@connectrpc/connect/protocol";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { responseGone, writeWithBackpressure } from "./write-backpressure.js";
import { asConnectError, envelope, requestMessages, writeHead, type CallOptions, type Limits, type Procedure } from "./connect-call.js";
import { finish, openGrpcCall } from "./grpc-call.js";

/**
 * Serves one gRPC server-streaming call over HTTP/2 the way connect's gRPC handler does
 * (`protocol-grpc/handler-factory.js`): the request read with connect's own transforms (split,
 * decompress, parse), the interceptors and the implementation run by connect's own
 * `transformInvokeImplementation` (so the request's one message and its errors surface inside
 * the interceptors, as in connect), each answer written as an envelope as soon as it is produced
 * — the headers with the first — and the trailers last, with the status and any error in them.
 * What this saves over connect-node per stream: its URL and header copies, four linked
 * AbortControllers, and the generator layers between each message and the socket (serialize,
 * compress, join, catch, the wrapper that aborts the context, the universal response writer).
 */
export async function serveGrpcServerStream(
  procedure: Procedure<"server_streaming">,
  binary: boolean,
  url: string,
  req: Http2ServerRequest,
  res: Http2ServerResponse,
  limits: Limits,
  opts: CallOptions,
): Promise<void> {
  const { spec, serialization } = procedure;
  const { call, compression } = openGrpcCall(procedure, binary, url, req, res, opts);
  const { context } = call;
  const output = serialization.getO(binary);

  try {
    for await (const message of transformInvokeImplementation(spec, context, opts.interceptors)(requestMessages(req as AsyncIterable<Uint8Array>, call, compression, limits, serialization.getI(binary)))) {
      const bytes = await envelope(0, output.serialize(message), compression.response, limits.compressMinBytes);
      // A reset stream (the client gone) would take the write without a word: `break` ends the
      // implementation's stream, so its `finally` runs.
      if (responseGone(res)) break;
      writeHead(res, context);
      if (!(await writeWithBackpressure(res, bytes, opts.writeStallMs))) break;
    }
  } catch (e) {
    call.fail(e);
    setTrailerStatus(context.responseTrailer, asConnectError(e));
  } finally {
    call.close();
  }
  finish(res, context);
}
