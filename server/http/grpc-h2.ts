import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import type { ConnectRouter } from "@connectrpc/connect";
import { memoized, type CallOptions, type Procedure } from "./connect-call.js";
import { grpcContentTypeOf } from "./grpc-call.js";
import { serveGrpcServerStream } from "./grpc-server-stream.js";
import { serveGrpcUnary } from "./grpc-unary.js";
import { createMethodTable, type MethodTable } from "./method-table.js";

/*
 * The gRPC protocol's unary and server-streaming calls over HTTP/2, served straight from
 * node:http2's compat request and response — what server/http/connect-h1.ts does for Connect over
 * HTTP/1.1, for the gateway's gRPC clients (`grpcurl`, the generated gRPC stubs of every
 * language, service meshes).
 *
 * Per call connect-node builds a WHATWG URL, converts the headers to a `Headers` and copies them
 * again into the handler context, links four AbortControllers and aborts the finished call's
 * without a reason (two `DOMException`s with stack traces), and moves the request and the answer
 * through a dozen async generators (connect's gRPC handler pipes both through its transforms,
 * then connect-node's universal response writer iterates the result). These files make the same
 * protocol decisions with connect's own functions — `parseContentType` and `parseTimeout` of
 * `protocol-grpc` with connect's maximum, `compressionNegotiate` over gzip and brotli as
 * connect-node's adapter offers them, the envelope transforms and `envelopeDecompress` /
 * `envelopeCompress` with the same `readMaxBytes` and `compressMinBytes`, the method's
 * serialization with its limits, `invokeUnaryImplementation` and `transformInvokeImplementation`
 * for the interceptors, `setTrailerStatus` for the status, message and details trailers — and
 * write the answer onto the compat response with the calls connect-node makes (`writeHead` with
 * the first message, `addTrailers`, `end`). Only the unary request body is split by hand, with
 * connect's rules and messages (grpc-unary.ts). Everything else — Connect and gRPC-Web over
 * HTTP/2, client and bidi streams, a method not POSTed, a request without an authority, a service
 * registered with options of its own — goes to connect-node unchanged.
 *
 * `@connectrpc/connect/protocol` and `/protocol-grpc` are connect's "private" exports, stable
 * only within a version: package.json pins connect exactly, and grpc-h2.test.ts runs every case
 * against connect-node's own handler.
 */

/** gRPC over HTTP/2; see the file comment. */
export interface GrpcH2 {
  /** Wraps a router so that every service registered on it is also served here. */
  record(router: ConnectRouter): ConnectRouter;
  /** Serves `req` when it is a gRPC unary or server-streaming POST of a recorded method; false otherwise. */
  serve(req: Http2ServerRequest, res: Http2ServerResponse): boolean;
}

/**
 * `methods` is the table of what may be served here; by default one of its own, whose `record`
 * this returns. Pass one shared with the Connect path (server/http/connect-h1.ts) to record once.
 */
export function createGrpcH2(opts: CallOptions, methods: MethodTable = createMethodTable(opts.readMaxBytes)): GrpcH2 {
  const { limits } = methods;

  const serve = (req: Http2ServerRequest, res: Http2ServerResponse): boolean => {
    if (req.method !== "POST") return false;
    const url = req.url;
    const procedure = methods.lookup(url);
    if (procedure === undefined) return false;
    const type = grpcContentTypeOf(req.headers["content-type"]);
    if (type === undefined) return false;
    const fullUrl = requestUrl(req, url);
    // connect-node cannot make a URL of this authority either: what it does then is its own.
    if (fullUrl === undefined) return false;
    const served =
      procedure.spec.kind === "unary"
        ? serveGrpcUnary(procedure as Procedure<"unary">, type.binary, fullUrl, req, res, limits, opts)
        : serveGrpcServerStream(procedure as Procedure<"server_streaming">, type.binary, fullUrl, req, res, limits, opts);
    served.catch((err: unknown) => opts.onUnexpected?.(err, procedure.name));
    return true;
  };

  return { record: methods.record, serve };
}

/**
 * The URL connect-node gives the handler context (`new URL(path, scheme://authority)`), without
 * a URL per call: the origin part is parsed once per authority; a path with a query (never a
 * gRPC client's) is resolved in full, as the query may need escaping.
 */
function requestUrl(req: Http2ServerRequest, url: string): string | undefined {
  const authority = req.authority as string | undefined;
  if (authority === undefined) return undefined;
  // connect-node's test for TLS, kept as it is so that the scheme agrees.
  const socket = req.socket as object as { encrypted?: unknown };
  const base = `${"encrypted" in socket && socket.encrypted ? "https" : "http"}://${authority}`;
  const origin = originOf(base);
  if (origin === undefined || origin === null) return undefined;
  return url.includes("?") ? new URL(url, base).toString() : origin + url;
}

/** `base` resolved as a URL's origin (with its user info, if any), or null when it is not one. */
const originOf = memoized((base: string): string | null => {
  try {
    return new URL("/", base).href.slice(0, -1);
  } catch {
    return null;
  }
});
