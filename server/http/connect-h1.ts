import type { IncomingMessage, ServerResponse } from "node:http";
import type { ConnectRouter } from "@connectrpc/connect";
import { contentTypeOf, type CallOptions, type Procedure } from "./connect-call.js";
import { createMethodTable, type MethodTable } from "./method-table.js";
import { serveServerStream } from "./connect-server-stream.js";
import { serveUnary } from "./connect-unary.js";

/*
 * The Connect protocol's unary and server-streaming calls over HTTP/1.1, served straight from
 * node:http.
 *
 * connect-node serves every protocol through one "universal" request model: per call it builds a
 * WHATWG URL (twice), converts the headers to a `Headers` and copies them again into the handler
 * context, reads the body and writes the answer through layers of async generators, links four
 * AbortControllers, and aborts the finished call's signal without a reason — two `DOMException`s
 * with captured stack traces per call. On this gateway's hot path (`Chat` and `ChatStream` over
 * Connect) that was ≈ 15 % of a unary call's CPU at 64 connections, more at one (bench/README.md).
 * These files do the same protocol steps with connect's own protocol functions (content-type and
 * timeout parsing, compression negotiation, serialization with its size limits, envelopes, the
 * interceptor chain, the error and end-stream JSON, the trailer mux, the status mapping), so the
 * wire behaviour is connect's; only the plumbing around them is direct. gRPC over HTTP/2 has a
 * direct path of its own (server/http/grpc-h2.ts). Everything else — Connect over HTTP/2,
 * gRPC-Web, client and bidi streams, GET, a request without a host, a service registered with
 * options of its own — goes to connect-node unchanged.
 *
 * `@connectrpc/connect/protocol` and `/protocol-connect` are connect's "private" exports, stable
 * only within a version: package.json pins connect exactly, and connect-h1.test.ts runs every case
 * against connect-node's own handler.
 */

/** Connect over HTTP/1.1; see the file comment. */
export interface ConnectH1 {
  /** Wraps a router so that every service registered on it is also served here. */
  record(router: ConnectRouter): ConnectRouter;
  /** Serves `req` when it is a Connect unary or server-streaming POST over HTTP/1.1 of a recorded method; false otherwise. */
  serve(req: IncomingMessage, res: ServerResponse): boolean;
}

/**
 * `methods` is the table of what may be served here; by default one of its own, whose `record`
 * this returns. Pass one shared with the gRPC path (server/http/grpc-h2.ts) to record once.
 */
export function createConnectH1(opts: CallOptions, methods: MethodTable = createMethodTable(opts.readMaxBytes)): ConnectH1 {
  const { limits } = methods;

  const serve = (req: IncomingMessage, res: ServerResponse): boolean => {
    if (req.method !== "POST" || req.httpVersionMajor !== 1) return false;
    const url = req.url ?? "";
    const procedure = methods.lookup(url);
    if (procedure === undefined) return false;
    const type = contentTypeOf(req.headers["content-type"]);
    const host = req.headers.host;
    // A content type of the other kind (a stream's on a unary method) is connect-node's to refuse.
    if (type === undefined || host === undefined || type.stream !== (procedure.spec.kind === "server_streaming")) return false;
    const fullUrl = `http://${host}${url}`;
    const served =
      procedure.spec.kind === "unary"
        ? serveUnary(procedure as Procedure<"unary">, type.binary, fullUrl, req, res, limits, opts)
        : serveServerStream(procedure as Procedure<"server_streaming">, type.binary, fullUrl, req, res, limits, opts);
    served.catch((err: unknown) => opts.onUnexpected?.(err, procedure.name));
    return true;
  };

  return { record: methods.record, serve };
}
