import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { envelopeDecompress, type Compression, type EnvelopedMessage, type Serialization } from "@connectrpc/connect/protocol";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { asConnectError, envelope, messageTooLarge, type CallOptions, type Limits, type Procedure } from "./connect-call.js";
import { finish, openGrpcCall } from "./grpc-call.js";
import { invokeUnary } from "./unary-invoke.js";

/**
 * Serves one gRPC unary call over HTTP/2 the way connect's gRPC handler does
 * (`protocol-grpc/handler-factory.js`): refuse an unknown encoding or a malformed timeout before
 * reading, read the request's one message (split, decompressed and parsed as connect's
 * transforms and `ensureSingle` would), run the interceptors and the implementation
 * (`invokeUnary`: connect's `invokeUnaryImplementation` with the chain composed once), answer the
 * message as an envelope (compressed from `compressMinBytes` when the client accepts it), and end
 * with the trailers, the status and any error in them (`setTrailerStatus`). connect reads the body through five async generators and
 * answers through five more; here it is one listener and one `end`.
 */
export async function serveGrpcUnary(procedure: Procedure<"unary">, binary: boolean, url: string, req: Http2ServerRequest, res: Http2ServerResponse, limits: Limits, opts: CallOptions): Promise<void> {
  const { spec, serialization } = procedure;
  const { call, compression } = openGrpcCall(procedure, binary, url, req, res, opts);
  const { context } = call;
  let body: Uint8Array | undefined;
  try {
    if (compression.error) throw compression.error;
    if (call.timeoutError) throw call.timeoutError;
    const input = await readOnlyMessage(req, serialization.getI(binary), compression.request, limits.readMaxBytes);
    const output = await invokeUnary(spec, context, input, opts.interceptors);
    body = await envelope(0, serialization.getO(binary).serialize(output), compression.response, limits.compressMinBytes);
  } catch (e) {
    call.fail(e);
    setTrailerStatus(context.responseTrailer, asConnectError(e));
  } finally {
    call.close();
  }
  finish(res, context, body);
}

/**
 * The request's only message, and connect's errors in connect's order: the first envelope
 * decompressed and parsed before the second is looked at; a second one (parsed, then refused),
 * none, a truncated or oversized envelope, each with connect's code and message.
 */
async function readOnlyMessage<T extends MessageShape<DescMessage>>(req: Http2ServerRequest, input: Serialization<T>, compression: Compression | null, readMaxBytes: number): Promise<T> {
  const { envelopes, error } = await readEnvelopes(req, readMaxBytes);
  const parse = async (env: EnvelopedMessage) => input.parse((await envelopeDecompress(env, compression, readMaxBytes)).data);
  const [first, second] = envelopes;
  if (first === undefined) throw error ?? new ConnectError("protocol error: missing input message for unary method", Code.Unimplemented);
  const message = await parse(first);
  if (second === undefined) {
    if (error !== undefined) throw error;
    return message;
  }
  await parse(second);
  throw new ConnectError("protocol error: received extra input message for unary method", Code.Unimplemented);
}

const HEADER_BYTES = 5;

/**
 * Splits the request body into envelopes as connect's `transformSplitEnvelope` does, reading
 * until the body ends or a second envelope is complete (all connect's `ensureSingle` asks for).
 * `error` is what connect's split raises after `envelopes`: an envelope announcing more than
 * `readMaxBytes` (raised as its header arrives — the envelopes completed by the same chunk are
 * never seen, as connect's decoder throws before yielding them), or bytes left over at the end
 * (a header alone with no payload byte is no envelope and no error, as in connect). When reading
 * stops early the request is destroyed, as connect's generators destroy it on their way out.
 */
function readEnvelopes(req: Http2ServerRequest, readMaxBytes: number): Promise<{ envelopes: EnvelopedMessage[]; error?: ConnectError }> {
  return new Promise((resolve) => {
    const envelopes: EnvelopedMessage[] = [];
    const pending: Buffer[] = [];
    let pendingBytes = 0;
    let head: { flags: number; length: number } | undefined;
    // The first `n` pending bytes; a view of the chunk when one holds them all (the usual case).
    const take = (n: number): Buffer => {
      pendingBytes -= n;
      const first = pending[0]!;
      if (first.byteLength >= n) {
        if (first.byteLength === n) pending.shift();
        else pending[0] = first.subarray(n);
        return first.subarray(0, n);
      }
      const joined = Buffer.concat(pending);
      pending.length = 0;
      if (joined.byteLength > n) pending.push(joined.subarray(n));
      return joined.subarray(0, n);
    };
    const done = (error?: ConnectError, stop = false) => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onFailed);
      req.off("aborted", onFailed);
      req.off("close", onClose);
      if (stop && !req.readableEnded) req.destroy();
      resolve(error === undefined ? { envelopes } : { envelopes, error });
    };
    const onData = (chunk: Buffer) => {
      pending.push(chunk);
      pendingBytes += chunk.byteLength;
      const decoded: EnvelopedMessage[] = [];
      for (;;) {
        if (head === undefined) {
          if (pendingBytes < HEADER_BYTES) break;
          const bytes = take(HEADER_BYTES);
          const length = bytes.readUInt32BE(1);
          if (length > readMaxBytes) {
            done(messageTooLarge(readMaxBytes, length), true);
            return;
          }
          head = { flags: bytes[0]!, length };
        }
        if (pendingBytes < head.length) break;
        decoded.push({ flags: head.flags, data: head.length === 0 ? new Uint8Array(0) : take(head.length) });
        head = undefined;
      }
      envelopes.push(...decoded);
      if (envelopes.length >= 2) done(undefined, true);
    };
    const onEnd = () => done(pendingBytes > 0 ? new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument) : undefined);
    // The client went away mid-body: nothing can be answered; the call just fails.
    const onFailed = () => done(new ConnectError("the client aborted the request", Code.Aborted));
    const onClose = () => {
      if (!req.readableEnded) onFailed();
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onFailed);
    req.on("aborted", onFailed);
    req.on("close", onClose);
  });
}
