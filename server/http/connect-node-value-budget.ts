import {
  compressedFlag,
  encodeEnvelope,
  pipe,
  readAllBytes,
  transformSplitEnvelope,
  type Compression,
  type UniversalServerRequest,
} from "@connectrpc/connect/protocol";
import { headerStreamEncoding, headerUnaryContentLength, headerUnaryEncoding, parseContentType as connectContentType } from "@connectrpc/connect/protocol-connect";
import { headerEncoding as grpcEncoding, parseContentType as grpcContentType } from "@connectrpc/connect/protocol-grpc";
import { parseContentType as grpcWebContentType } from "@connectrpc/connect/protocol-grpc-web";
import { MAX_REQUEST_VALUES, overJsonValueBudget, overValueBudget, tooManyValues } from "./value-budget.js";
import { negotiate } from "./connect-call.js";
import type { HandlerWrapper } from "./connect-node-handlers.js";

/*
 * The value budget (server/http/value-budget.ts) on connect-node's path: Connect over HTTP/2,
 * gRPC-Web, gRPC over HTTP/1.1, client and bidi streams, a service with options of its own.
 *
 * connect's handlers parse a request message inside their own body transforms, with a
 * serialization made from the method's descriptor that nothing can replace: protobuf-es's read
 * options hold no reader, and the router and its options take no serialization. So each handler is
 * given the request body through a reader that finds its messages as connect will — the same
 * functions (`readAllBytes` for a unary Connect body, `transformSplitEnvelope` for envelopes), the
 * same `readMaxBytes`, the protocol's encoding header decompressed with connect-node's gzip and
 * brotli — counts each one's values, and passes its bytes on unchanged, or fails the body with the
 * budget's `resource_exhausted` where connect would have parsed it. A body this reader cannot read
 * (a content type or encoding connect refuses, a broken envelope) is connect's to refuse, with the
 * same error: the reader raises what connect's own step raises on it.
 *
 * A compressed message is decompressed twice (here and by connect), each time within
 * `readMaxBytes`: the price of passing the body on as it came, with its headers as the caller sent
 * them for the interceptors to see.
 */

/** How one protocol carries request messages in a POST body. */
interface Framing {
  binary: boolean;
  /** Messages in envelopes (streams, gRPC, gRPC-Web), or the body one message (Connect unary). */
  enveloped: boolean;
  /** The header naming the messages' compression. */
  encodingHeader: string;
}

/** What connect's protocol handlers serve for a Content-Type (negotiateProtocol's choice), or undefined. */
function framingOf(contentType: string): Framing | undefined {
  const grpc = grpcContentType(contentType);
  if (grpc) return { binary: grpc.binary, enveloped: true, encodingHeader: grpcEncoding };
  const grpcWeb = grpcWebContentType(contentType);
  // gRPC-Web's text (base64) variant: connect refuses it.
  if (grpcWeb) return grpcWeb.text ? undefined : { binary: grpcWeb.binary, enveloped: true, encodingHeader: grpcEncoding };
  const connect = connectContentType(contentType);
  if (connect) return { binary: connect.binary, enveloped: connect.stream, encodingHeader: connect.stream ? headerStreamEncoding : headerUnaryEncoding };
  return undefined;
}

/** Options of {@link requestValueBudget}: connect-node's own for the router. */
export interface RequestValueBudgetOptions {
  readMaxBytes: number;
}

/**
 * A request's step in front of connect-node's handlers (`wrapRouterHandlers`): its body replaced
 * by one whose messages are counted before the handler parses them; see the file comment.
 */
export function requestValueBudget(opts: RequestValueBudgetOptions, limit = MAX_REQUEST_VALUES): HandlerWrapper {
  return (handler) => {
    // A Connect GET carries its message in the URL, which no body reader sees: connect serves GET
    // only for methods declared free of side effects, and the schema has none. One declared so
    // would need its query counted here first.
    if (handler.allowedMethods.includes("GET")) throw new Error(`${handler.requestPath}: a Connect GET's message would not be counted before it is parsed`);
    const input = handler.method.input;
    const overBinary = (data: Uint8Array) => overValueBudget(input, data, limit);
    const overJson = (data: Uint8Array) => overJsonValueBudget(data, limit);
    return (req) => {
      const framing = req.method === "POST" ? framingOf(req.header.get("content-type") ?? "") : undefined;
      if (framing === undefined || !isByteStream(req.body)) return req;
      // The adapter's compressions (ACCEPT_COMPRESSION), negotiated as the direct paths do.
      const compression = negotiate(req.header.get(framing.encodingHeader), null, framing.encodingHeader);
      // An encoding connect does not know: it refuses the call before reading the body.
      if (compression.error) return req;
      const check: Check = { over: framing.binary ? overBinary : overJson, limit, readMaxBytes: opts.readMaxBytes, compression: compression.request };
      const body = framing.enveloped ? countedEnvelopes(req.body, check) : countedMessage(req.body, req.header.get(headerUnaryContentLength), check);
      return { ...req, body };
    };
  };
}

/** How a request's messages are counted. */
interface Check {
  over: (data: Uint8Array) => boolean;
  limit: number;
  readMaxBytes: number;
  /** The request's compression, when it names one. */
  compression: Compression | null;
}

/** A unary Connect body: read as connect reads it (`readUnaryMessageFromBody`), counted, passed on whole. */
async function* countedMessage(body: AsyncIterable<Uint8Array>, contentLength: string | null, check: Check): AsyncGenerator<Uint8Array> {
  const bytes = await readAllBytes(body, check.readMaxBytes, contentLength);
  const message = check.compression ? await check.compression.decompress(bytes, check.readMaxBytes) : bytes;
  if (check.over(message)) throw tooManyValues(check.limit);
  yield bytes;
}

/**
 * An enveloped body: split as connect splits it, each envelope counted (decompressed when flagged
 * so) and passed on as it completes, so a stream's messages still arrive one by one. Every
 * envelope is counted, an end-of-stream one too: a caller's is a few bytes.
 */
async function* countedEnvelopes(body: AsyncIterable<Uint8Array>, check: Check): AsyncGenerator<Uint8Array> {
  for await (const { flags, data } of pipe(body, transformSplitEnvelope(check.readMaxBytes))) {
    let message: Uint8Array | undefined = data;
    if ((flags & compressedFlag) === compressedFlag) {
      // With no encoding named, connect refuses a compressed envelope, having parsed nothing.
      message = check.compression ? await check.compression.decompress(data, check.readMaxBytes) : undefined;
    }
    if (message !== undefined && check.over(message)) throw tooManyValues(check.limit);
    yield encodeEnvelope(flags, data);
  }
}

function isByteStream(body: UniversalServerRequest["body"]): body is AsyncIterable<Uint8Array> {
  return typeof body === "object" && body !== null && Symbol.asyncIterator in body;
}
