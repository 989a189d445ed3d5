import type { IncomingMessage, ServerResponse } from "node:http";
import { create, type DescMessage } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor, type StreamRequest, type StreamResponse } from "@connectrpc/connect";
import { contentTypeStreamJson, contentTypeStreamProto, endStreamFlag, endStreamToJson } from "@connectrpc/connect/protocol-connect";
import { utf8Bytes } from "../runtime/utf8-encoding.js";
import { writeWithBackpressure } from "./write-backpressure.js";
import { asConnectError, envelope, header, negotiate, openCall, requestMessages, writeHead, type CallOptions, type Limits, type Procedure } from "./connect-call.js";

/**
 * Serves one Connect server-streaming call over HTTP/1.1 the way connect's stream handler does
 * (`protocol-connect/handler-factory.js`): the request envelope read with connect's own
 * transforms (split, decompress, parse), the interceptors and the implementation run as
 * `invokeStreamImplementation` runs them, each answer written as an envelope as soon as it is
 * produced (compressed from `compressMinBytes` when the client accepts it), headers sent with the
 * first envelope, and an end-stream envelope carrying the trailers and any error; the status
 * stays 200, as the protocol has it. What this saves over connect-node per stream: its URL and
 * header copies, four linked AbortControllers, and the async-generator layers between each
 * message and the socket (serialize, compress, join, catch, the universal response writer).
 */
export async function serveServerStream(
  procedure: Procedure<"server_streaming">,
  binary: boolean,
  url: string,
  req: IncomingMessage,
  res: ServerResponse,
  limits: Limits,
  opts: CallOptions,
): Promise<void> {
  const { spec, serialization } = procedure;
  const call = openCall(procedure, url, req, res, binary ? contentTypeStreamProto : contentTypeStreamJson, opts);
  const { context } = call;
  const compression = negotiate(header(req, "connect-content-encoding"), header(req, "connect-accept-encoding"), "Connect-Accept-Encoding");
  if (compression.response) context.responseHeader.set("connect-content-encoding", compression.response.name);
  const output = serialization.getO(binary);

  const send = (flags: number, data: Uint8Array) => envelope(flags, data, compression.response, limits.compressMinBytes);

  let error: ConnectError | undefined;
  try {
    const invoke = applyInterceptors(async (request: StreamRequest): Promise<StreamResponse> => {
      const single = await onlyMessage(request.message);
      const produced = spec.impl(single as never, { ...context, service: request.service, requestHeader: request.header, signal: request.signal, values: request.contextValues });
      return { stream: true, service: request.service, method: spec.method, header: context.responseHeader, trailer: context.responseTrailer, message: normalized(spec.method.output, produced) };
    }, opts.interceptors);
    const response = await invoke({
      stream: true,
      service: spec.method.parent,
      method: spec.method,
      requestMethod: "POST",
      url,
      signal: context.signal,
      header: context.requestHeader,
      contextValues: context.values,
      message: requestMessages(req as AsyncIterable<Uint8Array>, call, compression, limits, serialization.getI(binary), endStreamFlag),
    } as StreamRequest);
    copyHeaders(response.header, context.responseHeader);
    for await (const message of response.message) {
      const bytes = await send(0, output.serialize(message));
      writeHead(res, context);
      // False once the client is gone: `break` ends the implementation's stream.
      if (!(await writeWithBackpressure(res, bytes, opts.writeStallMs))) break;
    }
    copyHeaders(response.trailer, context.responseTrailer);
  } catch (e) {
    call.fail(e);
    error = asConnectError(e);
  } finally {
    call.close();
  }
  if (res.destroyed) return;
  const end = utf8Bytes(JSON.stringify(endStreamToJson(context.responseTrailer, error, undefined)));
  const last = await send(endStreamFlag, end);
  writeHead(res, context);
  res.end(last);
}

/** connect's `applyInterceptors`: the first interceptor of the list is the outermost. */
function applyInterceptors(next: (req: StreamRequest) => Promise<StreamResponse>, interceptors: readonly Interceptor[]): (req: StreamRequest) => Promise<StreamResponse> {
  let handler = next as Parameters<Interceptor>[0];
  for (let i = interceptors.length - 1; i >= 0; i--) handler = interceptors[i]!(handler);
  return handler as (req: StreamRequest) => Promise<StreamResponse>;
}

/** The request stream's only message; connect's errors for none or more than one. */
async function onlyMessage(messages: AsyncIterable<unknown>): Promise<unknown> {
  const it = messages[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done === true) throw new ConnectError("protocol error: missing input message for server-streaming method", Code.Unimplemented);
  const second = await it.next();
  if (second.done !== true) throw new ConnectError("protocol error: received extra input message for server-streaming method", Code.Unimplemented);
  return first.value;
}

/** The implementation's answers as full messages of `desc` (connect's `normalizeIterable`). */
async function* normalized(desc: DescMessage, produced: AsyncIterable<unknown>): AsyncGenerator<never> {
  for await (const message of produced) yield create(desc, message as never) as never;
}

/** connect's `copyHeaders`: `to` becomes `from`. */
function copyHeaders(from: Headers, to: Headers): void {
  if (from === to) return;
  for (const key of [...to.keys()]) to.delete(key);
  from.forEach((value, key) => to.set(key, value));
}
