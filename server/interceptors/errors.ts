import { Code, ConnectError, type Interceptor, type StreamRequest, type UnaryRequest } from "@connectrpc/connect";
import { afterCall } from "../after-call.js";
import { databaseUnavailable } from "../errors/database-unavailable.js";
import type { Logger } from "../observability/logger.js";
import { kRequestId } from "./context-keys.js";

/** Dependencies of {@link createErrorsInterceptor}. */
export interface ErrorsInterceptorDeps {
  logger: Logger;
}

/**
 * The outermost interceptor: whatever leaves an RPC is a `ConnectError` written for callers.
 * A `ConnectError` passes through unchanged (its code and details were chosen on purpose); a
 * database that cannot be reached becomes `Unavailable` (P8: retry, not a server bug);
 * anything else becomes `Internal` "internal error" and its cause is logged with the request id,
 * so a stack trace, a provider's raw body or a credential never reaches a caller.
 * Streams are wrapped, so a failure after the first message is handled the same way.
 */
export function createErrorsInterceptor(deps: ErrorsInterceptorDeps): Interceptor {
  // One function for every call (not a closure per call): the request is an argument.
  const sanitize = (err: unknown, req: UnaryRequest | StreamRequest): ConnectError => {
    if (err instanceof ConnectError) return err;
    const requestId = req.contextValues.get(kRequestId);
    // An outage is not a bug: the caller is told to retry (P8), and the cause is logged all the same.
    const unavailable = databaseUnavailable(err);
    if (unavailable !== undefined) {
      deps.logger.warn({ err, requestId, procedure: req.method.parent.typeName + "/" + req.method.name }, "database unreachable");
      return unavailable;
    }
    deps.logger.error({ err, requestId, procedure: req.method.parent.typeName + "/" + req.method.name }, "unhandled error");
    return new ConnectError("internal error", Code.Internal);
  };
  async function* sanitized<T>(messages: AsyncIterable<T>, req: StreamRequest | UnaryRequest): AsyncGenerator<T> {
    try {
      yield* messages;
    } catch (err) {
      throw sanitize(err, req);
    }
  }
  // A promise chain, not an `async` function: no suspended frame per call in flight (`afterCall`).
  return (next) => (req) =>
    afterCall(
      () => next(req),
      (res) => (res.stream ? { ...res, message: sanitized(res.message, req) } : res),
      (err: unknown) => {
        throw sanitize(err, req);
      },
    );
}
