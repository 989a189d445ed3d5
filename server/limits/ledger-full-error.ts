import { Code, ConnectError } from "@connectrpc/connect";
import { withRetryInfo } from "../errors/retry-info.js";

/**
 * The one mapping from a paid call shed because the usage ledger cannot take more records (P4)
 * to what the caller sees: `Unavailable` (nothing was sent; retrying is safe) with a
 * `google.rpc.RetryInfo` detail of `retryAfterMs` — the ledger writer's next flush attempt, the
 * first moment room can come back — which the clients' retries and the OpenAI surface's
 * `retry-after` honour, as they do a rate limit's `retry_delay`.
 */
export function ledgerFullError(retryAfterMs: number): ConnectError {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return withRetryInfo(
    new ConnectError(
      `the usage ledger cannot record more calls right now (its database is unreachable and the local buffer is full); retry in ${seconds} s`,
      Code.Unavailable,
    ),
    retryAfterMs,
  );
}
