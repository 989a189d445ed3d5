import type { IncomingMessage, ServerResponse } from "node:http";
import type { DescMessage, DescService } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createContextValues,
  createServiceImplSpec,
  type ConnectRouter,
  type ContextValues,
  type HandlerContext,
  type Interceptor,
  type MethodImplSpec,
} from "@connectrpc/connect";
import { compressionBrotli, compressionGzip } from "@connectrpc/connect-node";
import {
  compressionNegotiate,
  createMethodSerializationLookup,
  invokeUnaryImplementation,
  validateReadWriteMaxBytes,
  type MethodSerializationLookup,
} from "@connectrpc/connect/protocol";
import {
  codeToHttpStatus,
  contentTypeUnaryJson,
  contentTypeUnaryProto,
  errorToJsonBytes,
  parseContentType,
  parseTimeout,
  trailerMux,
} from "@connectrpc/connect/protocol-connect";

/*
 * The Connect protocol's unary calls over HTTP/1.1, served straight from node:http.
 *
 * connect-node serves every protocol through one "universal" request model: per unary call it
 * builds a WHATWG URL (twice), converts the headers to a `Headers` and copies them again into the
 * handler context, reads the body through two layers of async generators, links four
 * AbortControllers, and aborts the finished call's signal without a reason — two `DOMException`s
 * with captured stack traces per call. On this gateway's hot path (`Chat` over Connect) that was
 * ≈ 15 % of the CPU of a call at 64 connections and more at one (bench/README.md, "connect-node's
 * per-call work"). This file does the same protocol steps for the one case that dominates traffic
 * — a unary POST of `application/proto` or `application/json` over HTTP/1.1 — with connect's own
 * protocol functions (content-type and timeout parsing, compression negotiation, serialization
 * with its size limits, the interceptor chain and `invokeUnaryImplementation`, the error JSON, the
 * trailer mux, the status mapping), so the wire behaviour is connect's; only the plumbing around
 * them is direct: one AbortController, the request headers converted once, the body read as
 * Buffers, one `writeHead` + `end`. Everything else (HTTP/2, gRPC, gRPC-Web, streams, GET, a
 * request without a host) goes to connect-node unchanged.
 *
 * `@connectrpc/connect/protocol` and `/protocol-connect` are connect's "private" exports, stable
 * only within a version: package.json pins connect exactly, and the tests of this file run every
 * case against connect-node's own handler.
 */

/** Options of {@link createConnectUnary}; the same meaning as connect-node's adapter options. */
export interface ConnectUnaryOptions {
  interceptors: readonly Interceptor[];
  /** Largest request body accepted (after decompression). */
  readMaxBytes: number;
  contextValues?: (req: IncomingMessage) => ContextValues;
  /** A failure after the response could no longer carry it (the socket gone mid-write). */
  onUnexpected?: (err: unknown, procedure: string) => void;
}

/** The Connect unary path over HTTP/1.1; see the file comment. */
export interface ConnectUnary {
  /** Wraps a router so that every service registered on it is also served here. */
  record(router: ConnectRouter): ConnectRouter;
  /** Serves `req` when it is a Connect unary POST over HTTP/1.1 of a recorded method; false otherwise. */
  serve(req: IncomingMessage, res: ServerResponse): boolean;
}

interface Procedure {
  spec: MethodImplSpec & { kind: "unary" };
  serialization: MethodSerializationLookup<DescMessage, DescMessage>;
  name: string;
}

/** The reason a finished call's signal is aborted with (connect-node: a new DOMException per call). */
const CALL_ENDED = Object.freeze(new ConnectError("the call has ended", Code.Canceled));
/** The reason when the client goes away before the response is written. */
const CLIENT_GONE = Object.freeze(new ConnectError("the client closed the connection", Code.Canceled));

const ACCEPT_COMPRESSION = [compressionGzip, compressionBrotli];

export function createConnectUnary(opts: ConnectUnaryOptions): ConnectUnary {
  const limits = validateReadWriteMaxBytes(opts.readMaxBytes, undefined, undefined);
  const interceptors = [...opts.interceptors];
  const procedures = new Map<string, Procedure>();

  const add = (service: DescService, impl: object): void => {
    const spec = createServiceImplSpec(service, impl as never);
    for (const method of Object.values(spec.methods)) {
      if (method.kind !== "unary") continue;
      procedures.set(`/${service.typeName}/${method.method.name}`, {
        spec: method,
        serialization: createMethodSerializationLookup(method.method, undefined, undefined, limits),
        name: `${service.typeName}.${method.method.name}`,
      });
    }
  };

  const record = (router: ConnectRouter): ConnectRouter => {
    const recording: ConnectRouter = {
      get handlers() {
        return router.handlers;
      },
      service(service, impl, options) {
        router.service(service, impl, options);
        // A service with options of its own (interceptors, limits, protocols) stays with connect-node.
        if (options === undefined) add(service, impl);
        return recording;
      },
      rpc(method, impl, options) {
        router.rpc(method, impl, options);
        return recording;
      },
    };
    return recording;
  };

  const serve = (req: IncomingMessage, res: ServerResponse): boolean => {
    if (req.method !== "POST" || req.httpVersionMajor !== 1) return false;
    const url = req.url ?? "";
    const query = url.indexOf("?");
    const procedure = procedures.get(query === -1 ? url : url.slice(0, query));
    if (procedure === undefined) return false;
    const type = contentTypeOf(req.headers["content-type"]);
    const host = req.headers.host;
    if (type === undefined || type.stream || host === undefined) return false;
    handle(procedure, type.binary, `http://${host}${url}`, req, res).catch((err: unknown) => opts.onUnexpected?.(err, procedure.name));
    return true;
  };

  const handle = async (procedure: Procedure, binary: boolean, url: string, req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const { spec, serialization } = procedure;
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
    const responseHeader = new Headers({ "content-type": binary ? contentTypeUnaryProto : contentTypeUnaryJson });
    const context: HandlerContext = {
      method: spec.method,
      service: spec.method.parent,
      requestMethod: "POST",
      protocolName: "connect",
      url,
      timeoutMs: () => (deadlineAt === undefined ? undefined : deadlineAt - Date.now()),
      signal: controller.signal,
      requestHeader: webHeaders(req.headers),
      responseHeader,
      responseTrailer: new Headers(),
      values: opts.contextValues?.(req) ?? createContextValues(),
    };
    const compression = negotiate(header(req, "content-encoding"), header(req, "accept-encoding"));
    let status = 200;
    let body: Uint8Array;
    try {
      if (compression.error) throw compression.error;
      if (timeout.error) throw timeout.error;
      let bytes = await readBody(req, limits.readMaxBytes);
      if (compression.request) bytes = await compression.request.decompress(bytes, limits.readMaxBytes);
      const input = serialization.getI(binary).parse(bytes);
      const output = await invokeUnaryImplementation(spec, context, input, interceptors);
      body = serialization.getO(binary).serialize(output);
    } catch (e) {
      if (!controller.signal.aborted) controller.abort(e);
      const error = e instanceof ConnectError ? e : new ConnectError("internal error", Code.Internal, undefined, undefined, e);
      status = codeToHttpStatus(error.code);
      responseHeader.set("content-type", contentTypeUnaryJson);
      error.metadata.forEach((value, key) => responseHeader.set(key, value));
      body = errorToJsonBytes(error, undefined);
    } finally {
      clearTimeout(timer);
      if (!controller.signal.aborted) controller.abort(CALL_ENDED);
    }
    if (compression.response && body.byteLength >= limits.compressMinBytes) {
      body = await compression.response.compress(body);
      responseHeader.set("content-encoding", compression.response.name);
    }
    const headers = trailerMux(responseHeader, context.responseTrailer);
    headers.set("content-length", String(body.byteLength));
    res.off("close", onClose);
    if (res.destroyed) return;
    res.writeHead(status, nodeHeaders(headers));
    res.end(body);
  };

  return { record, serve };
}

/** Bounded memo tables: clients send a handful of distinct header values; past 64, just compute. */
const MEMO_LIMIT = 64;
const contentTypes = new Map<string, ReturnType<typeof parseContentType>>();
/** Connect's reading of a Content-Type header (undefined when it is not Connect's). */
function contentTypeOf(value: string | undefined): ReturnType<typeof parseContentType> {
  if (value === undefined) return undefined;
  if (contentTypes.has(value)) return contentTypes.get(value);
  const parsed = parseContentType(value);
  if (contentTypes.size < MEMO_LIMIT) contentTypes.set(value, parsed);
  return parsed;
}

const negotiations = new Map<string, ReturnType<typeof compressionNegotiate>>();
/** connect's compression negotiation for a request's Content-Encoding and Accept-Encoding. */
function negotiate(requested: string | null, accepted: string | null): ReturnType<typeof compressionNegotiate> {
  const key = `${requested ?? "\u0000"}\n${accepted ?? "\u0000"}`;
  let result = negotiations.get(key);
  if (result === undefined) {
    result = compressionNegotiate(ACCEPT_COMPRESSION, requested, accepted, "Accept-Encoding");
    // A refusal carries a ConnectError, built afresh per call like any other error.
    if (result.error === undefined && negotiations.size < MEMO_LIMIT) negotiations.set(key, result);
  }
  return result;
}

/** A request header as one string (repeated headers joined as `Headers` would), or null. */
function header(req: IncomingMessage, name: string): string | null {
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
function nodeHeaders(headers: Headers): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  headers.forEach((value, key) => (out[key] = value));
  return out;
}

/**
 * The whole request body, refused with `ResourceExhausted` (connect's message) once it would
 * exceed `limit` — before reading when Content-Length says so.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Uint8Array> {
  const declared = Number(req.headers["content-length"]);
  if (declared > limit) return Promise.reject(new ConnectError(`message size ${declared} is larger than configured readMaxBytes ${limit}`, Code.ResourceExhausted));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > limit) {
        cleanup();
        req.resume(); // drain what is left so the connection stays usable for the error answer
        reject(new ConnectError(`message size is larger than configured readMaxBytes ${limit}`, Code.ResourceExhausted));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(new ConnectError(`reading the request failed: ${err.message}`, Code.Aborted));
    };
    const onAborted = () => onError(new Error("the client aborted the request"));
    const cleanup = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("aborted", onAborted);
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("aborted", onAborted);
  });
}
