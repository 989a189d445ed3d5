import type { IncomingMessage, ServerResponse } from "node:http";
import type { DescMessage } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues, type ContextValues, type HandlerContext, type Interceptor, type MethodImplSpec } from "@connectrpc/connect";
import { compressionBrotli, compressionGzip } from "@connectrpc/connect-node";
import { compressionNegotiate, type MethodSerializationLookup } from "@connectrpc/connect/protocol";
import { parseContentType, parseTimeout } from "@connectrpc/connect/protocol-connect";

/*
 * What a Connect call over HTTP/1.1 needs whatever its kind (server/http/connect-h1.ts): the
 * handler context with one AbortController (deadline, client gone, call ended), the request
 * headers converted once, and connect's header parsing remembered per header value.
 */

/** Options shared by the unary and server-streaming paths; the same meaning as connect-node's. */
export interface ConnectH1Options {
  interceptors: Interceptor[];
  /** Largest request message accepted (after decompression). */
  readMaxBytes: number;
  contextValues?: (req: IncomingMessage) => ContextValues;
  /** A failure after the response could no longer carry it (the socket gone mid-write). */
  onUnexpected?: (err: unknown, procedure: string) => void;
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
const CLIENT_GONE = Object.freeze(new ConnectError("the client closed the connection", Code.Canceled));

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

/**
 * Opens a call: the handler context connect would build (`createHandlerContext`), but with one
 * AbortController that the deadline, the client going away and the end of the call abort, each
 * with a ConnectError (no DOMException with a stack trace per call).
 */
export function openCall(procedure: Procedure, url: string, req: IncomingMessage, res: ServerResponse, responseContentType: string, opts: ConnectH1Options): OpenCall {
  const controller = new AbortController();
  const onClose = () => {
    if (!res.writableFinished) controller.abort(CLIENT_GONE);
  };
  res.once("close", onClose);
  const timeout = parseTimeout(header(req, "connect-timeout-ms"), Number.MAX_SAFE_INTEGER);
  const deadlineAt = timeout.timeoutMs === undefined ? undefined : Date.now() + timeout.timeoutMs;
  let timer: NodeJS.Timeout | undefined;
  if (timeout.timeoutMs !== undefined) {
    const expire = () => controller.abort(new ConnectError("the operation timed out", Code.DeadlineExceeded));
    if (timeout.timeoutMs <= 0) expire();
    else timer = setTimeout(expire, timeout.timeoutMs);
  }
  const method = procedure.spec.method;
  const context: HandlerContext = {
    method,
    service: method.parent,
    requestMethod: "POST",
    protocolName: "connect",
    url,
    timeoutMs: () => (deadlineAt === undefined ? undefined : deadlineAt - Date.now()),
    signal: controller.signal,
    requestHeader: webHeaders(req.headers),
    responseHeader: new Headers({ "content-type": responseContentType }),
    responseTrailer: new Headers(),
    values: opts.contextValues?.(req) ?? createContextValues(),
  };
  return {
    context,
    timeoutError: timeout.error,
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

/** `e` as the ConnectError a response carries: anything else is `internal`, with `e` as its cause. */
export function asConnectError(e: unknown): ConnectError {
  return e instanceof ConnectError ? e : new ConnectError("internal error", Code.Internal, undefined, undefined, e);
}

/** A request header as one string (repeated headers joined as `Headers` would), or null. */
export function header(req: IncomingMessage, name: string): string | null {
  const value = req.headers[name];
  if (value === undefined) return null;
  return typeof value === "string" ? value : value.join(", ");
}

/** The request's headers as a WHATWG `Headers`, the type connect's interceptors and handlers take. */
function webHeaders(raw: IncomingMessage["headers"]): Headers {
  const out = new Headers();
  for (const key in raw) {
    const value = raw[key];
    if (value === undefined) continue;
    if (typeof value === "string") out.append(key, value);
    else for (const v of value) out.append(key, v);
  }
  return out;
}

/** `Headers` as node:http's header object (joined values, as connect-node writes them). */
export function nodeHeaders(headers: Headers): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  headers.forEach((value, key) => (out[key] = value));
  return out;
}

/** Bounded memo tables: clients send a handful of distinct header values; past 64, just compute. */
const MEMO_LIMIT = 64;
const contentTypes = new Map<string, ReturnType<typeof parseContentType>>();
/** Connect's reading of a Content-Type header (undefined when it is not Connect's). */
export function contentTypeOf(value: string | undefined): ReturnType<typeof parseContentType> {
  if (value === undefined) return undefined;
  if (contentTypes.has(value)) return contentTypes.get(value);
  const parsed = parseContentType(value);
  if (contentTypes.size < MEMO_LIMIT) contentTypes.set(value, parsed);
  return parsed;
}

const ACCEPT_COMPRESSION = [compressionGzip, compressionBrotli];
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
