import type { IncomingMessage, ServerResponse } from "node:http";
import { Code, ConnectError } from "@connectrpc/connect";
import { codeToHttpStatus, contentTypeUnaryJson, contentTypeUnaryProto, errorToJsonBytes, trailerMux } from "@connectrpc/connect/protocol-connect";
import { readBody } from "./read-body.js";
import { invokeUnary } from "./unary-invoke.js";
import { asConnectError, header, messageTooLarge, negotiate, nodeHeaders, openCall, type CallOptions, type Limits, type Procedure } from "./connect-call.js";

/**
 * Serves one Connect unary call over HTTP/1.1 the way connect's unary handler does
 * (`protocol-connect/handler-factory.js`): negotiate compression, read and parse the body, run
 * the interceptors and the implementation, answer the message — or the error as JSON with its
 * HTTP status and metadata headers — with trailers as `trailer-` headers; one `writeHead` + `end`.
 */
export async function serveUnary(procedure: Procedure<"unary">, binary: boolean, url: string, req: IncomingMessage, res: ServerResponse, limits: Limits, opts: CallOptions): Promise<void> {
  const { spec, serialization } = procedure;
  const call = openCall(procedure, url, req, res, binary ? contentTypeUnaryProto : contentTypeUnaryJson, opts);
  const { context } = call;
  const compression = negotiate(header(req, "content-encoding"), header(req, "accept-encoding"), "Accept-Encoding");
  let status = 200;
  let body: Uint8Array;
  try {
    if (compression.error) throw compression.error;
    if (call.timeoutError) throw call.timeoutError;
    let bytes: Uint8Array = await readMessageBytes(req, limits.readMaxBytes);
    if (compression.request) bytes = await compression.request.decompress(bytes, limits.readMaxBytes);
    const input = serialization.getI(binary).parse(bytes);
    const output = await invokeUnary(spec, context, input, opts.interceptors);
    body = serialization.getO(binary).serialize(output);
  } catch (e) {
    call.fail(e);
    const error = asConnectError(e);
    status = codeToHttpStatus(error.code);
    context.responseHeader.set("content-type", contentTypeUnaryJson);
    error.metadata.forEach((value, key) => context.responseHeader.set(key, value));
    body = errorToJsonBytes(error, undefined);
  } finally {
    call.close();
  }
  if (compression.response && body.byteLength >= limits.compressMinBytes) {
    body = await compression.response.compress(body);
    context.responseHeader.set("content-encoding", compression.response.name);
  }
  const headers = trailerMux(context.responseHeader, context.responseTrailer);
  headers.set("content-length", String(body.byteLength));
  if (res.destroyed) return;
  res.writeHead(status, nodeHeaders(headers));
  res.end(body);
}

/** The whole request body, refused as connect refuses it past `limit` (`ResourceExhausted`, its messages). */
function readMessageBytes(req: IncomingMessage, limit: number): Promise<Uint8Array> {
  return readBody(req, limit, (announced) => messageTooLarge(limit, announced)).catch((err: unknown) => {
    throw err instanceof ConnectError ? err : new ConnectError(`reading the request failed: ${err instanceof Error ? err.message : String(err)}`, Code.Aborted);
  });
}
