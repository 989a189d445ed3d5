import { randomUUID } from "node:crypto";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "../observability/logger.js";
import { kRequestId } from "./context-keys.js";

/** Dependencies of {@link createTelemetryInterceptor}. */
export interface TelemetryInterceptorDeps {
  logger: Logger;
}

/** A caller-supplied request id is kept only if it is short and plain (no log injection). */
const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Gives every RPC a request id (the caller's `x-request-id` when it is well-formed, else a new
 * UUID), returns it in the `x-request-id` response header, and writes exactly one access-log line
 * when the RPC ends — for streams, when the stream ends. The line holds the procedure, protocol,
 * canonical code, duration and message counts; never bodies or headers, so no secret reaches it.
 */
export function createTelemetryInterceptor(deps: TelemetryInterceptorDeps): Interceptor {
  return (next) => async (req) => {
    const started = performance.now();
    const supplied = req.header.get("x-request-id");
    const requestId = supplied !== null && REQUEST_ID_PATTERN.test(supplied) ? supplied : randomUUID();
    req.contextValues.set(kRequestId, requestId);
    const procedure = `${req.service.typeName}/${req.method.name}`;
    const protocol = protocolOf(req.header.get("content-type"));
    const log = (err: unknown, messagesOut: number) => {
      const code = err === undefined ? "ok" : codeName(err instanceof ConnectError ? err.code : Code.Internal);
      const fields = { requestId, procedure, protocol, code, durationMs: round(performance.now() - started), messagesOut };
      if (err === undefined || (err instanceof ConnectError && isCallerError(err.code))) deps.logger.info(fields, "rpc");
      else deps.logger.warn(fields, "rpc");
    };
    let res;
    try {
      res = await next(req);
    } catch (err) {
      log(err, 0);
      throw err;
    }
    res.header.set("x-request-id", requestId);
    if (!res.stream) {
      log(undefined, 1);
      return res;
    }
    const inner = res.message;
    return {
      ...res,
      message: (async function* () {
        let count = 0;
        let failure: unknown;
        try {
          for await (const message of inner) {
            count++;
            yield message;
          }
        } catch (err) {
          failure = err;
          throw err;
        } finally {
          // A caller that goes away mid-stream ends the generator without an error: Canceled.
          log(failure ?? (req.signal.aborted ? new ConnectError("canceled", Code.Canceled) : undefined), count);
        }
      })(),
    };
  };
}

function protocolOf(contentType: string | null): string {
  if (contentType?.startsWith("application/grpc-web")) return "grpc-web";
  if (contentType?.startsWith("application/grpc")) return "grpc";
  return "connect";
}

/** Codes that describe the caller's request rather than a fault of ours: logged at info. */
function isCallerError(code: Code): boolean {
  return [
    Code.InvalidArgument,
    Code.NotFound,
    Code.AlreadyExists,
    Code.PermissionDenied,
    Code.Unauthenticated,
    Code.FailedPrecondition,
    Code.ResourceExhausted,
    Code.Canceled,
    Code.Unimplemented,
  ].includes(code);
}

/** The canonical snake_case code name (`invalid_argument`), as Connect writes it on the wire. */
export function codeName(code: Code): string {
  return Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
