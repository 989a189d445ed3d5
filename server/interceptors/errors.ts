import { Code, ConnectError, type Interceptor, type StreamRequest, type UnaryRequest } from "@connectrpc/connect";
import type { Logger } from "../observability/logger.js";
import { kRequestId } from "./context-keys.js";

/** Dependencies of {@link createErrorsInterceptor}. */
export interface ErrorsInterceptorDeps {
  logger: Logger;
}

/**
 * The outermost interceptor: whatever leaves an RPC is a `ConnectError` written for callers.
 * A `ConnectError` passes through unchanged (its code and details were chosen on purpose);
 * anything else becomes `Internal` "internal error" and its cause is logged with the request id,
 * so a stack trace, a provider's raw body or a credential never reaches a caller.
 * Streams are wrapped, so a failure after the first message is handled the same way.
 */
export function createErrorsInterceptor(deps: ErrorsInterceptorDeps): Interceptor {
  // One function for every call (not a closure per call): the request is an argument.
  const sanitize = (err: unknown, req: UnaryRequest | StreamRequest): ConnectError => {
    if (err instanceof ConnectError) return err;
    const requestId = req.contextValues.get(kRequestId);
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
  return (next) => async (req) => {
    try {
      const res = await next(req);
      if (!res.stream) return res;
      return { ...res, message: sanitized(res.message, req) };
    } catch (err) {
      throw sanitize(err, req);
    }
  };
}
