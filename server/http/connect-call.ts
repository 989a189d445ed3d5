import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import type { DescMessage } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues, type ContextValues, type HandlerContext, type Interceptor, type MethodImplSpec } from "@connectrpc/connect";
import { compressionBrotli, compressionGzip } from "@connectrpc/connect-node";
import { compressionNegotiate, encodeEnvelope, envelopeCompress, pipe, transformDecompressEnvelope, transformParseEnvelope, transformSplitEnvelope, type Compression, type MethodSerializationLookup, type Serialization } from "@connectrpc/connect/protocol";
import { parseContentType, parseTimeout } from "@connectrpc/connect/protocol-connect";
import { timeoutWithin } from "../runtime/node-timer.js";

/*
 * What a call served without connect-node's universal plumbing needs whatever its protocol and
 * kind (server/http/connect-h1.ts, server/http/grpc-h2.ts): the handler context with one
 * AbortController (deadline, client gone, call ended), the request headers converted once, and
 * connect's header parsing remembered per header value.
 */

/** Options shared by the direct paths; the same meaning as connect-node's. */
export interface CallOptions {
  interceptors: Interceptor[];
  /** Largest request message accepted (after decompression). */
  readMaxBytes: number;
  contextValues?: (req: IncomingMessage | Http2ServerRequest) => ContextValues;
  /** A failure after the response could no longer carry it (the socket gone mid-write). */
  onUnexpected?: (err: unknown, procedure: string) => void;
  /** How long a stream's write may wait for the caller to read (default `DEFAULT_WRITE_STALL_MS`). */
  writeStallMs?: number;
}

/** One method served here: its implementation and connect's serialization (with size limits) for it. */
export interface Procedure<K extends "unary" | "server_streaming" = "unary" | "server_streaming"> {
  spec: MethodImplSpec & { kind: K };
  serialization: MethodSerializationLookup<DescMessage, DescMessage>;
  /** `package.Service.Method`, for logs. */
  name: string;
}

/** Limits as connect validates them (`validateReadWriteMaxBytes`). */
export interface Limits {
  readMaxBytes: number;
  compressMinBytes: number;
}

/** The reason a finished call's signal is aborted with (connect-node: a new DOMException per call). */
const CALL_ENDED = Object.freeze(new ConnectError("the call has ended", Code.Canceled));
/** The reason when the client goes away before the response is complete. */
export const CLIENT_GONE = Object.freeze(new ConnectError("the client closed the connection", Code.Canceled));

/** An open call: its context and how it ends. */
export interface OpenCall {
  context: HandlerContext;
  /** The timeout header's parse error, raised where connect raises it. */
  timeoutError: ConnectError | undefined;
  /** Aborts the context's signal with `reason` (a failure), unless it is aborted already. */
  fail(reason: unknown): void;
  /** Ends the call: stops the deadline and aborts the signal as connect does when a call is over. */
  close(): void;
}

/** What a protocol decides about a call before it opens (see {@link startCall}). */
export interface CallInit {
  protocolName: string;
  /** The protocol's timeout header as its own `parseTimeout` read it. */
  timeout: { timeoutMs?: number; error?: ConnectError };
  responseHeader: Headers;
  responseTrailer: Headers;
  /** The signal's reason when the response closes before it finished (default {@link CLIENT_GONE}). */
  gone?: () => unknown;
}

/** A Connect call over HTTP/1.1: {@link startCall} with Connect's timeout header and an empty trailer. */
export function openCall(procedure: Procedure, url: string, req: IncomingMessage, res: ServerResponse, responseContentType: string, opts: CallOptions): OpenCall {
  return startCall(procedure, url, req, res, opts, {
    protocolName: "connect",
    timeout: parseTimeout(header(req, "connect-timeout-ms"), Number.MAX_SAFE_INTEGER),
    responseHeader: new Headers({ "content-type": responseContentType }),
    responseTrailer: new Headers(),
  });
}

/**
 * Opens a call: the handler context connect would build (`createHandlerContext`), but with one
 * AbortController that the deadline, the client going away and the end of the call abort, each
 * with a ConnectError (no DOMException with a stack trace per call).
 */
export function startCall(
  procedure: Procedure,
  url: string,
  req: IncomingMessage | Http2ServerRequest,
  res: ServerResponse | Http2ServerResponse,
  opts: CallOptions,
  init: CallInit,
): OpenCall {
  const controller = new AbortController();
  // `writableEnded`, not `writableFinished`: HTTP/2's compat response reports a reset stream as
  // finished. The call is closed (this listener gone) before the response ends anyway.
  const onClose = () => {
    if (!res.writableEnded) controller.abort(init.gone?.() ?? CLIENT_GONE);
  };
  res.once("close", onClose);
  const { timeoutMs } = init.timeout;
  const deadlineAt = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
  let timer: NodeJS.Timeout | undefined;
  if (timeoutMs !== undefined) {
    const expire = () => controller.abort(new ConnectError("the operation timed out", Code.DeadlineExceeded));
    if (timeoutMs <= 0) expire();
    // The protocols allow more than a Node timer holds (`connect-timeout-ms`: 10 digits).
    else timer = timeoutWithin(expire, timeoutMs);
  }
  const method = procedure.spec.method;
  const context: HandlerContext = {
    method,
    service: method.parent,
    requestMethod: "POST",
    protocolName: init.protocolName,
    url,
    timeoutMs: () => (deadlineAt === undefined ? undefined : deadlineAt - Date.now()),
    signal: controller.signal,
    requestHeader: webHeaders(req.headers),
    responseHeader: init.responseHeader,
    responseTrailer: init.responseTrailer,
    values: opts.contextValues?.(req) ?? createContextValues(),
  };
  return {
    context,
    timeoutError: init.timeout.error,
    fail(reason) {
      if (!controller.signal.aborted) controller.abort(reason);
    },
    close() {
      clearTimeout(timer);
      res.off("close", onClose);
      if (!controller.signal.aborted) controller.abort(CALL_ENDED);
    },
  };
}

/**
 * A streaming call's request messages as connect reads them (split into envelopes, decompressed,
 * parsed; an end-stream envelope skipped when the protocol has `endStreamFlag`), for the
 * implementation to ask for: the compression and timeout errors are raised then, inside the
 * interceptors, as connect raises them (`transformPrepend`).
 */
export async function* requestMessages<T>(
  req: AsyncIterable<Uint8Array>,
  call: OpenCall,
  compression: ReturnType<typeof negotiate>,
  limits: Limits,
  input: Serialization<T>,
  endStreamFlag?: number,
): AsyncGenerator<T> {
  if (compression.error) throw compression.error;
  if (call.timeoutError) throw call.timeoutError;
  const parse = endStreamFlag === undefined ? transformParseEnvelope(input) : transformParseEnvelope(input, endStreamFlag);
  yield* pipe(req, transformSplitEnvelope(limits.readMaxBytes), transformDecompressEnvelope(compression.request, limits.readMaxBytes), parse);
}

/** A serialized message (or end-stream) as an envelope, compressed from `compressMinBytes` when the client accepts it (connect's `envelopeCompress`). */
export async function envelope(flags: number, data: Uint8Array, compression: Compression | null, compressMinBytes: number): Promise<Uint8Array> {
  const env = await envelopeCompress({ flags, data }, compression, compressMinBytes);
  return encodeEnvelope(env.flags, env.data);
}

/** Sends a streaming response's headers unless they are out: they leave with the first envelope, as connect-node sends them. */
export function writeHead(res: ServerResponse | Http2ServerResponse, context: HandlerContext): void {
  if (!res.headersSent) res.writeHead(200, nodeHeaders(context.responseHeader));
}

/** connect's refusal of a message larger than `limit` bytes (`announced`: its size, when known). */
export function messageTooLarge(limit: number, announced?: number): ConnectError {
  return new ConnectError(`message size ${announced === undefined ? "" : `${announced} `}is larger than configured readMaxBytes ${limit}`, Code.ResourceExhausted);
}

/** `e` as the ConnectError a response carries: anything else is `internal`, with `e` as its cause. */
export function asConnectError(e: unknown): ConnectError {
  return e instanceof ConnectError ? e : new ConnectError("internal error", Code.Internal, undefined, undefined, e);
}

/** A request header as one string (repeated headers joined as `Headers` would), or null. */
export function header(req: { headers: IncomingMessage["headers"] }, name: string): string | null {
  const value = req.headers[name];
  if (value === undefined) return null;
  return typeof value === "string" ? value : value.join(", ");
}

/**
 * The request's headers as a WHATWG `Headers`, the type connect's interceptors and handlers take;
 * HTTP/2's pseudo-headers (`:path`, …) left out, as connect-node leaves them.
 */
function webHeaders(raw: IncomingMessage["headers"]): Headers {
  const out = new Headers();
  for (const key in raw) {
    const value = raw[key];
    if (value === undefined || key.charCodeAt(0) === 0x3a) continue;
    if (typeof value === "string") out.append(key, value);
    else for (const v of value) out.append(key, v);
  }
  return out;
}

/**
 * `Headers` as node's header object, as connect-node writes them: joined values, except that a
 * header `Headers` keeps apart (`set-cookie`) becomes an array instead of the last one winning.
 */
export function nodeHeaders(headers: Headers): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  headers.forEach((value, key) => {
    const existing = out[key];
    if (existing === undefined) out[key] = value;
    else if (typeof existing === "string") out[key] = [existing, value];
    else existing.push(value);
  });
  return out;
}

/** Bounded memo tables: clients send a handful of distinct header values; past 64, just compute. */
const MEMO_LIMIT = 64;
/** `parse` of a header value, remembered per value (undefined for an absent header). */
export function memoized<T>(parse: (value: string) => T): (value: string | undefined) => T | undefined {
  const seen = new Map<string, T>();
  return (value) => {
    if (value === undefined) return undefined;
    if (seen.has(value)) return seen.get(value);
    const parsed = parse(value);
    if (seen.size < MEMO_LIMIT) seen.set(value, parsed);
    return parsed;
  };
}
/** Connect's reading of a Content-Type header (undefined when it is not Connect's). */
export const contentTypeOf = memoized(parseContentType);

/** The compressions every Connect path decompresses requests with and offers for answers. */
export const ACCEPT_COMPRESSION = [compressionGzip, compressionBrotli];
const negotiations = new Map<string, ReturnType<typeof compressionNegotiate>>();
/**
 * connect's compression negotiation (gzip and brotli, as connect-node's adapter offers) for a
 * request's encoding and accepted encodings, named `acceptHeader` in errors.
 */
export function negotiate(requested: string | null, accepted: string | null, acceptHeader: string): ReturnType<typeof compressionNegotiate> {
  const key = `${acceptHeader}\n${requested ?? "\u0000"}\n${accepted ?? "\u0000"}`;
  let result = negotiations.get(key);
  if (result === undefined) {
    result = compressionNegotiate(ACCEPT_COMPRESSION, requested, accepted, acceptHeader);
    // A refusal carries a ConnectError, built afresh per call like any other error.
    if (result.error === undefined && negotiations.size < MEMO_LIMIT) negotiations.set(key, result);
  }
  return result;
}
