import { toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { DurationSchema, durationFromMs } from "@bufbuild/protobuf/wkt";
import type { ConnectError } from "@connectrpc/connect";

/**
 * The type name of `google.rpc.RetryInfo`, the standard detail that says how long to wait before
 * retrying a retryable refusal that is not a rate limit (`RateLimitExceeded.retry_delay` carries
 * that one). All three clients decode it first (clients/ts `SwitchboardError.retryDelayMs`, Go
 * `Error.RetryDelay`, Python `retry_delay`).
 */
export const RETRY_INFO = "google.rpc.RetryInfo";

/**
 * The delay of each error {@link withRetryInfo} marked, for this process's own readers (the OpenAI
 * surface's `retry-after`): they need the number, not the detail's bytes back — decoding those is
 * the clients' job (clients/ts `retryInfoMs`, Go, Python).
 */
const delays = new WeakMap<ConnectError, number>();

/**
 * `err` with a `google.rpc.RetryInfo{retry_delay: retryAfterMs}` detail added. The message is
 * written by hand (field 1, a Duration), as the clients read it, rather than generating googleapis
 * for one message; connect's Connect and gRPC encoders send such a `{ type, value }` detail as any
 * other (`type.googleapis.com/google.rpc.RetryInfo`). Returns `err`.
 */
export function withRetryInfo(err: ConnectError, retryAfterMs: number): ConnectError {
  const ms = Math.max(0, Math.round(retryAfterMs));
  const value = new BinaryWriter().tag(1, WireType.LengthDelimited).bytes(toBinary(DurationSchema, durationFromMs(ms))).finish();
  err.details.push({ type: RETRY_INFO, value });
  delays.set(err, ms);
  return err;
}

/** The retry delay {@link withRetryInfo} gave `err`, in ms; undefined for any other error. */
export function retryInfoMs(err: ConnectError): number | undefined {
  return delays.get(err);
}

/** The errors {@link withoutRetry} marked. */
const final = new WeakSet<ConnectError>();

/**
 * `err` marked as one no retry can fix although its code reads like a server fault: a provider
 * refusing the gateway's credential, or not knowing the route's model (`Internal`). The OpenAI
 * surface answers it with `x-should-retry: false`, as OpenAI's SDKs otherwise retry every 5xx;
 * the clients never retry `Internal`. Returns `err`.
 */
export function withoutRetry(err: ConnectError): ConnectError {
  final.add(err);
  return err;
}

/** Whether {@link withoutRetry} marked `err`. */
export function retryRefused(err: ConnectError): boolean {
  return final.has(err);
}
