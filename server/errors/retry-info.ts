import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { DurationSchema, durationFromMs, durationMs } from "@bufbuild/protobuf/wkt";
import type { ConnectError } from "@connectrpc/connect";

/**
 * The type name of `google.rpc.RetryInfo`, the standard detail that says how long to wait before
 * retrying a retryable refusal that is not a rate limit (`RateLimitExceeded.retry_delay` carries
 * that one). All three clients decode it first (clients/ts `SwitchboardError.retryDelayMs`, Go
 * `Error.RetryDelay`, Python `retry_delay`).
 */
export const RETRY_INFO = "google.rpc.RetryInfo";

/**
 * `err` with a `google.rpc.RetryInfo{retry_delay: retryAfterMs}` detail added. The message is
 * written by hand (field 1, a Duration), as the clients read it, rather than generating googleapis
 * for one message; connect's Connect and gRPC encoders send such a `{ type, value }` detail as any
 * other (`type.googleapis.com/google.rpc.RetryInfo`). Returns `err`.
 */
export function withRetryInfo(err: ConnectError, retryAfterMs: number): ConnectError {
  const value = new BinaryWriter().tag(1, WireType.LengthDelimited).bytes(toBinary(DurationSchema, durationFromMs(Math.max(0, Math.round(retryAfterMs))))).finish();
  err.details.push({ type: RETRY_INFO, value });
  return err;
}

/** The retry delay of `err`'s first `google.rpc.RetryInfo` detail, in ms; undefined without one. */
export function retryInfoMs(err: ConnectError): number | undefined {
  for (const detail of err.details) {
    if (!("type" in detail) || detail.type !== RETRY_INFO) continue;
    try {
      const reader = new BinaryReader(detail.value);
      while (reader.pos < reader.len) {
        const [field, wireType] = reader.tag();
        if (field === 1 && wireType === WireType.LengthDelimited) return durationMs(fromBinary(DurationSchema, reader.bytes()));
        reader.skip(wireType);
      }
    } catch {
      // A malformed detail carries no delay.
    }
  }
  return undefined;
}
