import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { BudgetLevel, RateLimitDimension, RateLimitExceededSchema } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import type { InFlightRefusal } from "./in-flight-limiter.js";

/**
 * The one mapping from a shed call to what the caller sees: `ResourceExhausted` with a
 * `RateLimitExceeded` detail of dimension `CONCURRENCY` (level `KEY` for the key's cap, unset for
 * the replica's), the cap as `limit`, and `retry_delay`, which the clients' retries and the
 * OpenAI surface's `retry-after` honour. Answered at once: the call was never queued.
 */
export function overloadedError(refusal: InFlightRefusal, retryAfterMs: number): ConnectError {
  const detail = create(RateLimitExceededSchema, {
    level: refusal.scope === "key" ? BudgetLevel.KEY : BudgetLevel.UNSPECIFIED,
    dimension: RateLimitDimension.CONCURRENCY,
    limit: BigInt(refusal.limit),
    retryDelay: durationFromMs(retryAfterMs),
  });
  const who = refusal.scope === "key" ? "this key has" : "this gateway replica has";
  const message = `${who} ${refusal.limit} model calls in flight, its limit; the call was shed, retry in ${Math.max(1, Math.ceil(retryAfterMs / 1000))} s`;
  return new ConnectError(message, Code.ResourceExhausted, undefined, [{ desc: RateLimitExceededSchema, value: detail }]);
}
