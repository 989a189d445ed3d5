import type { IncomingHttpHeaders } from "node:http";
import { Code, ConnectError } from "@connectrpc/connect";
import { errorToJsonBytes, parseContentType as connectContentType } from "@connectrpc/connect/protocol-connect";
import { parseContentType as grpcContentType } from "@connectrpc/connect/protocol-grpc";
import { parseContentType as grpcWebContentType } from "@connectrpc/connect/protocol-grpc-web";

/*
 * An RPC to a path no service is registered at (a method or service this gateway does not have, a
 * wrong prefix). connect-node answers it with a bare 404, which every client reads as
 * Unimplemented (the gRPC and Connect specs' mapping of HTTP 404). The gateway's own 404 for an
 * unknown URL carries a JSON body, `{"code":"not_found","message":"no such route"}`, and a Connect
 * unary client reads a JSON error body's code over the status: it saw NotFound "no such route" —
 * a missing model route, to anyone who reads it — instead of Unimplemented.
 */

/** The request facts read here. */
type Req = { url?: string | undefined; method?: string | undefined; headers: IncomingHttpHeaders };
/** The response calls made here (Node's HTTP/1.1 and HTTP/2 responses both have them). */
type Res = { writeHead(status: number, headers?: Record<string, string>): unknown; end(data: Uint8Array): unknown; end(): unknown };

/**
 * Answers `req` when it is an RPC (a POST with a Connect, gRPC or gRPC-Web content type, or a
 * Connect GET) as one for a procedure not served: 404, with Connect's `unimplemented` error JSON
 * for a Connect unary call (the one kind that reads a body there), nothing for the others, as
 * connect-node answers. False, having written nothing, for any other request.
 */
export function answerUnknownProcedure(req: Req, res: Res): boolean {
  const url = req.url ?? "";
  const query = url.indexOf("?");
  const path = query === -1 ? url : url.slice(0, query);
  let unary: boolean;
  if (req.method === "POST") {
    const type = req.headers["content-type"] ?? "";
    const connect = connectContentType(type);
    if (connect !== undefined) unary = !connect.stream;
    else if (grpcContentType(type) !== undefined || grpcWebContentType(type) !== undefined) unary = false;
    else return false;
  } else if (req.method === "GET" && query !== -1 && new URLSearchParams(url.slice(query + 1)).get("connect") === "v1") {
    unary = true;
  } else return false;
  if (!unary) {
    res.writeHead(404);
    res.end();
    return true;
  }
  const body = errorToJsonBytes(new ConnectError(`no procedure ${path} is served here`, Code.Unimplemented), undefined);
  res.writeHead(404, { "content-type": "application/json", "content-length": String(body.byteLength) });
  res.end(body);
  return true;
}
