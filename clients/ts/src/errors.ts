import { fromBinary } from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { DurationSchema, durationMs } from "@bufbuild/protobuf/wkt";
import { ConnectError } from "@connectrpc/connect";
import { ViolationsSchema, type Violations } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import {
  BudgetExceededSchema,
  CapabilityMissingSchema,
  GuardrailViolationSchema,
  ProviderAttemptsSchema,
  RateLimitExceededSchema,
  type BudgetExceeded,
  type CapabilityMissing,
  type GuardrailViolation,
  type ProviderAttempts,
  type RateLimitExceeded,
} from "../../../gen/ts/switchboard/v1/error_details_pb.js";

const RETRY_INFO = "google.rpc.RetryInfo";
const PUSHBACK = "grpc-retry-pushback-ms";

/**
 * Every failure of a Switchboard call: a `ConnectError` (so `instanceof ConnectError`, `code`,
 * `rawMessage`, `metadata` and `findDetails` work as usual) with the gateway's typed error details
 * already decoded. Each detail field is set only when the server attached that detail:
 *
 * - `budgetExceeded` — `ResourceExhausted`: a spend cap refused the call (never retried);
 * - `rateLimitExceeded` — `ResourceExhausted`: a rate limit refused it (`retryDelay` says when to retry);
 * - `guardrailViolation` — `PermissionDenied`: a guardrail blocked the input or the answer;
 * - `providerAttempts` — `Unavailable`, `DeadlineExceeded`, `InvalidArgument`, `Internal`: every provider attempt;
 * - `capabilityMissing` — `FailedPrecondition`: no route target can serve the request;
 * - `violations` — `InvalidArgument`: the request fields that failed validation.
 *
 * Like every `ConnectError`, its `name` is "ConnectError" (connect-es recognises errors by it).
 */
export class SwitchboardError extends ConnectError {
  readonly budgetExceeded: BudgetExceeded | undefined;
  readonly rateLimitExceeded: RateLimitExceeded | undefined;
  readonly guardrailViolation: GuardrailViolation | undefined;
  readonly providerAttempts: ProviderAttempts | undefined;
  readonly capabilityMissing: CapabilityMissing | undefined;
  readonly violations: Violations | undefined;
  /**
   * How long the server asked the caller to wait before retrying, in ms: from a
   * `google.rpc.RetryInfo` detail, `RateLimitExceeded.retry_delay`, the gRPC
   * `grpc-retry-pushback-ms` trailer or a `retry-after` header. Undefined when it asked nothing;
   * negative when it asked the caller not to retry.
   */
  readonly retryDelayMs: number | undefined;
  /** The gateway's request id, when the error carries one (quote it in support tickets). */
  readonly requestId: string | undefined;

  /** Wraps `err`, keeping its code, message, metadata, details and cause. */
  constructor(err: ConnectError) {
    super(err.rawMessage, err.code, err.metadata, undefined, err.cause);
    this.details = err.details;
    if (err.stack !== undefined) this.stack = err.stack;
    this.budgetExceeded = err.findDetails(BudgetExceededSchema)[0];
    this.rateLimitExceeded = err.findDetails(RateLimitExceededSchema)[0];
    this.guardrailViolation = err.findDetails(GuardrailViolationSchema)[0];
    this.providerAttempts = err.findDetails(ProviderAttemptsSchema)[0];
    this.capabilityMissing = err.findDetails(CapabilityMissingSchema)[0];
    this.violations = err.findDetails(ViolationsSchema)[0];
    this.retryDelayMs = retryDelayOf(err, this.rateLimitExceeded);
    this.requestId = this.providerAttempts?.requestId || err.metadata.get("x-request-id") || undefined;
  }

  /** `err` as a `SwitchboardError` (itself when it is one); anything else via `ConnectError.from`. */
  static fromError(err: unknown): SwitchboardError {
    if (err instanceof SwitchboardError) return err;
    return new SwitchboardError(ConnectError.from(err));
  }

  /** `instanceof` by prototype: `ConnectError` recognises any error by name, this class only its own. */
  static override [Symbol.hasInstance](v: unknown): boolean {
    return Function.prototype[Symbol.hasInstance].call(this, v);
  }
}

function retryDelayOf(err: ConnectError, rate: RateLimitExceeded | undefined): number | undefined {
  for (const d of err.details) {
    if ("type" in d && d.type === RETRY_INFO) {
      const ms = retryInfoMs(d.value);
      if (ms !== undefined) return ms;
    }
  }
  if (rate?.retryDelay !== undefined) return durationMs(rate.retryDelay);
  const pushback = err.metadata.get(PUSHBACK);
  if (pushback !== null && /^-?\d+$/.test(pushback.trim())) {
    const ms = Number(pushback);
    return ms < 0 ? -1 : ms;
  }
  const after = err.metadata.get("retry-after");
  if (after !== null && /^\d+$/.test(after.trim())) return Number(after) * 1000;
  return undefined;
}

/** `google.rpc.RetryInfo.retry_delay` (field 1, a Duration) without depending on googleapis. */
function retryInfoMs(bytes: Uint8Array): number | undefined {
  try {
    const reader = new BinaryReader(bytes);
    while (reader.pos < reader.len) {
      const [field, wireType] = reader.tag();
      if (field === 1 && wireType === WireType.LengthDelimited) return durationMs(fromBinary(DurationSchema, reader.bytes()));
      reader.skip(wireType);
    }
  } catch {
    // A malformed detail carries no delay.
  }
  return undefined;
}
