import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { contentTypeJson, contentTypeProto, grpcStatusOk, parseContentType, parseTimeout } from "@connectrpc/connect/protocol-grpc";
import { CLIENT_GONE, header, memoized, negotiate, nodeHeaders, startCall, writeHead, type CallOptions, type OpenCall, type Procedure } from "./connect-call.js";
import { responseGone } from "./write-backpressure.js";

/*
 * What a gRPC call over HTTP/2 needs whatever its kind (server/http/grpc-h2.ts), decided as
 * connect's gRPC handler decides it (`protocol-grpc/handler-factory.js`), and its answer written
 * onto node:http2's compat response as connect-node writes it (`node-universal-handler.js`).
 */

/** connect's reading of a gRPC Content-Type header (undefined when it is not gRPC's). */
export const grpcContentTypeOf = memoized(parseContentType);

/** An open gRPC call and the compression negotiated for it. */
export interface GrpcCall {
  call: OpenCall;
  compression: ReturnType<typeof negotiate>;
}

/**
 * Opens a gRPC call: `grpc-timeout` and the encodings read by connect's functions (with connect's
 * timeout maximum, and gzip and brotli as connect-node's adapter offers them), the response's
 * content type and encoding in its headers, `grpc-status: 0` in its trailers until an error.
 */
export function openGrpcCall(procedure: Procedure, binary: boolean, url: string, req: Http2ServerRequest, res: Http2ServerResponse, opts: CallOptions): GrpcCall {
  const compression = negotiate(header(req, "grpc-encoding"), header(req, "grpc-accept-encoding"), "Grpc-Accept-Encoding");
  const responseHeader = new Headers({ "content-type": binary ? contentTypeProto : contentTypeJson });
  if (compression.response) responseHeader.set("grpc-encoding", compression.response.name);
  const call = startCall(procedure, url, req, res, opts, {
    protocolName: "grpc",
    timeout: parseTimeout(header(req, "grpc-timeout"), Number.MAX_SAFE_INTEGER),
    responseHeader,
    responseTrailer: new Headers({ "grpc-status": grpcStatusOk }),
    gone: () => resetReasons.get(req.stream.rstCode) ?? CLIENT_GONE,
  });
  return { call, compression };
}

/** Ends the response as connect-node does: headers if not yet sent, `body` if any, the trailers. */
export function finish(res: Http2ServerResponse, context: HandlerContext, body?: Uint8Array): void {
  if (responseGone(res)) return;
  writeHead(res, context);
  res.addTrailers(nodeHeaders(context.responseTrailer));
  if (body === undefined) res.end();
  else res.end(body);
}

/**
 * The reason connect-node aborts a call's signal with when the client resets its stream with one
 * of these HTTP/2 codes (`connectErrorFromH2ResetCode`); frozen, made once. Any other code:
 * {@link CLIENT_GONE} (connect-node: an AbortError).
 */
const resetReasons = new Map<number | undefined, ConnectError>(
  (
    [
      [0x1, "PROTOCOL_ERROR", Code.Internal],
      [0x2, "INTERNAL_ERROR", Code.Internal],
      [0x3, "FLOW_CONTROL_ERROR", Code.Internal],
      [0x4, "SETTINGS_TIMEOUT", Code.Internal],
      [0x6, "FRAME_SIZE_ERROR", Code.Internal],
      [0x7, "REFUSED_STREAM", Code.Unavailable],
      [0x8, "CANCEL", Code.Canceled],
      [0x9, "COMPRESSION_ERROR", Code.Internal],
      [0xa, "CONNECT_ERROR", Code.Internal],
      [0xb, "ENHANCE_YOUR_CALM", Code.ResourceExhausted],
      [0xc, "INADEQUATE_SECURITY", Code.PermissionDenied],
      [0xd, "HTTP_1_1_REQUIRED", Code.PermissionDenied],
    ] as const
  ).map(([rst, name, code]) => [rst, Object.freeze(new ConnectError(`http/2 stream closed with error code ${name} (0x${rst.toString(16)})`, code))]),
);
