import { Code, ConnectError } from "@connectrpc/connect";
import type { Attempt } from "../../gen/ts/switchboard/v1/common_pb.js";
import { ProviderAttemptsSchema } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { ProviderError, type ProviderErrorKind } from "../providers/provider-error.js";
import { withoutRetry, withRetryInfo } from "./retry-info.js";

// STYLE.md "Error codes at the boundary": 429/5xx/529/connection → Unavailable; a timeout →
// DeadlineExceeded; the provider rejected the content → InvalidArgument; our credential (or our
// route's model) is broken → Internal, which the caller cannot fix.
const CODE: Record<ProviderErrorKind, Code> = {
  rate_limited: Code.Unavailable,
  overloaded: Code.Unavailable,
  server_error: Code.Unavailable,
  connection: Code.Unavailable,
  stream_error: Code.Unavailable,
  timeout: Code.DeadlineExceeded,
  bad_request: Code.InvalidArgument,
  context_length: Code.InvalidArgument,
  content_filter: Code.InvalidArgument,
  auth: Code.Internal,
  not_found: Code.Internal,
  cancelled: Code.Canceled,
};

/** The canonical code a provider failure of this kind crosses the boundary with. */
export function connectCodeOf(kind: ProviderErrorKind): Code {
  return CODE[kind];
}

/** What {@link providerErrorToConnect} attaches. */
export interface ProviderFailureDetail {
  /** The route that was tried. */
  route: string;
  /** Every attempt, in order, failed ones included. */
  attempts: Attempt[];
  /** The gateway's id for the request, when known. */
  requestId?: string;
  /** A caller-safe message replacing the error's own. */
  message?: string;
}

/**
 * The one mapping from a provider failure to what a caller sees: a `ConnectError` with the code
 * of the table and a `ProviderAttempts` detail. A `ProviderError`'s message is caller-safe by
 * contract; anything else is an adapter bug and becomes `Internal` "internal error" with the
 * error kept only as the cause (for the log). A retryable failure for which the provider said how
 * long to wait (a 429's `retry-after`) passes that delay on as a `google.rpc.RetryInfo` detail, so
 * the caller's retry does not come back sooner than the provider allows; a broken credential or
 * an unknown model (`Internal`) is marked {@link withoutRetry}: no retry of the caller fixes it.
 */
export function providerErrorToConnect(err: unknown, detail: ProviderFailureDetail): ConnectError {
  const details = [
    { desc: ProviderAttemptsSchema, value: { attempts: detail.attempts, route: detail.route, requestId: detail.requestId ?? "" } },
  ];
  if (err instanceof ProviderError) {
    const out = new ConnectError(detail.message ?? err.message, CODE[err.kind], undefined, details, err);
    if (out.code === Code.Internal) return withoutRetry(out);
    if (out.code === Code.Unavailable && err.retryAfterMs !== undefined) return withRetryInfo(out, err.retryAfterMs);
    return out;
  }
  return new ConnectError("internal error", Code.Internal, undefined, details, err);
}

/**
 * `err` with its `ProviderAttempts` detail listing `attempts` instead (its route and request id
 * kept), or with one added for `route` when it had none: for a stage that knows of attempts
 * billed for the call beyond those dispatch listed (the cache stage's semantic lookup). Returns
 * `err` (its other details, and what other modules keyed on it, stay as they were).
 */
export function withProviderAttempts(err: ConnectError, attempts: Attempt[], route: string): ConnectError {
  const [listed] = err.findDetails(ProviderAttemptsSchema);
  const others = err.details.filter((d) => ("desc" in d ? d.desc.typeName : d.type) !== ProviderAttemptsSchema.typeName);
  err.details = [...others, { desc: ProviderAttemptsSchema, value: { attempts, route: listed?.route ?? route, requestId: listed?.requestId ?? "" } }];
  return err;
}
