import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { RateLimitDimension, RateLimitExceededSchema } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { BUDGET_LEVEL } from "./budget-error.js";
import type { RateRefusal } from "./rate-limiter.js";

const DIMENSION: Record<RateRefusal["dimension"], RateLimitDimension> = {
  requests: RateLimitDimension.REQUESTS,
  tokens: RateLimitDimension.TOKENS,
};

/**
 * The one mapping from a rate-limit refusal to what the caller sees: `ResourceExhausted` with a
 * `RateLimitExceeded` detail (level, rule, dimension, limit and the delay after which the same
 * request would pass). A request that exceeds the limit on its own gets no retry delay, since
 * waiting would not help.
 */
export function rateLimitExceededError(refusal: RateRefusal): ConnectError {
  const { rule, dimension, limit, retryAfterMs } = refusal;
  const detail = create(RateLimitExceededSchema, {
    level: BUDGET_LEVEL[rule.level],
    rateLimit: rule.id,
    dimension: DIMENSION[dimension],
    limit: BigInt(limit),
    ...(retryAfterMs === undefined ? {} : { retryDelay: durationFromMs(retryAfterMs) }),
  });
  const message =
    retryAfterMs === undefined
      ? `${rule.level} rate limit ${rule.id}: this request alone exceeds ${limit} ${dimension} per minute`
      : `${rule.level} rate limit ${rule.id} exceeded (${limit} ${dimension} per minute); retry in ${Math.ceil(retryAfterMs / 1000)} s`;
  return new ConnectError(message, Code.ResourceExhausted, undefined, [{ desc: RateLimitExceededSchema, value: detail }]);
}
