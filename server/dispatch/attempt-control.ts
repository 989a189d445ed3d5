import type { Mutable } from "../mutable.js";
import { emptyUsage, type TokenUsage } from "../providers/model.js";
import { knownUnsent } from "../providers/http/send-progress.js";
import { ProviderError } from "../providers/provider-error.js";
import type { Provider } from "../providers/provider.js";
import { abortError, isAbortCause, type AbortCause } from "./abort-cause.js";
import type { Slot } from "./attempt-plan.js";
import type { RequestScope } from "./request-scope.js";
import { decideFailure, egressRefusal, type FailureDecision } from "./retryable.js";
import type { LoadEnding } from "./target-load.js";
import { failedAttemptUsage } from "./usage-estimate.js";

/** What is known of a failed attempt besides its error. */
export interface FailureFacts {
  /** Content it produced before failing (for the usage estimate). */
  outputText: string;
  timeToFirstTokenMs?: number;
  /** False when nothing was sent (the credential could not be read): nothing is billed. */
  sent?: boolean;
  /**
   * The provider's own report, when its full answer arrived before the attempt ended (a hedge
   * that lost a photo finish, a stream cut after its `usage` chunk): billed as it is, never
   * replaced by an estimate.
   */
  usage?: TokenUsage;
  /**
   * The provider's last mid-stream usage report (`CallContext.reportUsage`) of a stream that
   * ended before its own `usage` chunk: billed with the output that arrived, unless the adapter's
   * error carries usage of its own (see `failedAttemptUsage`).
   */
  reported?: TokenUsage;
}

/**
 * The life of one sent attempt: its abort signal (the request's signal, its per-attempt timeout
 * and any cause dispatch aborts it for), and its single ending, which records it, settles its
 * breaker permit, feeds its target's retry throttle and releases its retry-budget slot. Ending it
 * twice does nothing the second time.
 */
export interface AttemptControl {
  readonly signal: AbortSignal;
  readonly ended: boolean;
  /** Aborts the attempt for `cause` (no effect once aborted). */
  abort(cause: AbortCause): void;
  /** The error to decide and record with: ours when dispatch aborted the attempt, else `thrown`. */
  errorFor(thrown: unknown): unknown;
  /** Why dispatch aborted the attempt, or undefined while it has not. */
  abortCause(): AbortCause | undefined;
  succeed(usage: TokenUsage, timeToFirstTokenMs?: number): void;
  /** Ends the attempt as failed and returns the retry decision for it. */
  fail(err: unknown, facts: FailureFacts): FailureDecision;
}

/** Starts the control of `slot`'s attempt. */
export function openAttempt(scope: RequestScope, slot: Slot): AttemptControl {
  const { env } = scope;
  const controller = new AbortController();
  const abort = (c: AbortCause): void => {
    if (!controller.signal.aborted) controller.abort(c);
  };
  const unsubscribe = scope.onAbort(abort);
  const limit = slot.candidate.target.attemptTimeoutMs;
  const cancelTimer = limit === undefined ? () => {} : env.setTimer(() => abort({ cause: "attempt_timeout", ms: limit }), limit);

  // Counted in flight from here to its one ending, whatever the route's strategy (target-load.ts).
  const load = env.load.begin(slot.candidate.target);

  const end = (ending: LoadEnding, latencyMs: number): boolean => {
    if (control.ended) return false;
    control.ended = true;
    cancelTimer();
    unsubscribe();
    slot.releaseRetry();
    env.load.end(load, ending, latencyMs);
    return true;
  };
  const latency = (): number => env.now() - slot.startedAt;

  // `ended` is a data property `end` sets, not a getter (see `Mutable`).
  const control: Mutable<AttemptControl> = {
    signal: controller.signal,
    ended: false,
    abort,
    errorFor(thrown) {
      const reason: unknown = controller.signal.reason;
      if (controller.signal.aborted && isAbortCause(reason)) return abortError(reason);
      return thrown;
    },
    abortCause() {
      const reason: unknown = controller.signal.reason;
      return controller.signal.aborted && isAbortCause(reason) ? reason : undefined;
    },
    succeed(usage, timeToFirstTokenMs) {
      // A stream's speed is its time to first token; a unary call's, the whole call.
      if (!end("success", timeToFirstTokenMs ?? latency())) return;
      slot.permit.settle("success");
      env.throttle.recordSuccess(slot.candidate.target, scope.route.retry);
      slot.handle.finish({
        outcome: "success",
        latencyMs: latency(),
        usage,
        ...(timeToFirstTokenMs === undefined ? {} : { timeToFirstTokenMs }),
      });
    },
    fail(err, facts) {
      const reason: unknown = controller.signal.reason;
      const failureCtx = {
        committed: scope.committed,
        deadlineExpired: scope.deadlineExpired() || (isAbortCause(reason) && reason.cause === "deadline"),
        fallbackOnAuth: scope.route.retry.fallbackOnAuth,
        fallbackOnContextLength: scope.route.retry.fallbackOnContextLength,
        fallbackOnContentFilter: scope.route.retry.fallbackOnContentFilter,
      };
      const decision = decideFailure(err, failureCtx);
      // A failure on the target's account marks it failing; a hedge loser ran at least this long;
      // the caller's cancel and a refusal of our content tell nothing of its speed.
      const superseded = isAbortCause(reason) && reason.cause === "superseded";
      if (!end(superseded ? "superseded" : decision.breaker === "failure" ? "failure" : "ignore", latency())) return decision;
      const refusedByEgress = egressRefusal(err) !== undefined;
      if (refusedByEgress) scope.egressRefusals++;
      slot.permit.settle(decision.breaker);
      // A6: every failure of a retryable kind costs a token, committed streams included (the
      // upstream failed all the same); cancels and failures of our own deadline do not.
      if (decideFailure(err, { ...failureCtx, committed: false }).retrySameTarget) env.throttle.recordFailure(slot.candidate.target, scope.route.retry);
      // Never sent: the credential could not be read, the egress policy refused the address, or
      // the transport knows the request was cancelled before a connection took it. The provider
      // never saw it, so nothing is billed. A provider that reported usage had the request: never unsent.
      const unsent = facts.usage === undefined && facts.reported === undefined && (facts.sent === false || refusedByEgress || knownUnsent(controller.signal));
      const usage =
        facts.usage ??
        (unsent
          ? emptyUsage(false)
          : failedAttemptUsage(err, { request: scope.request, outputText: facts.outputText }, env.estimateUsage, facts.reported));
      const message = err instanceof ProviderError ? err.message : "internal error";
      slot.handle.finish({
        outcome: decision.outcome,
        latencyMs: latency(),
        usage,
        error: unsent && facts.sent !== false ? `${message} (before it was sent, so nothing is billed)` : message,
        ...(err instanceof ProviderError && err.httpStatus !== undefined ? { httpStatus: err.httpStatus } : {}),
        ...(facts.timeToFirstTokenMs === undefined ? {} : { timeToFirstTokenMs: facts.timeToFirstTokenMs }),
      });
      return decision;
    },
  };
  return control;
}

/** Settles with `p`, or rejects as soon as `signal` aborts (the adapter may be slow to notice). */
export function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

/** The target's params for `CallContext.params`: undefined when it has none (no allocation either way). */
export function paramsOf(slot: Slot): Readonly<Record<string, string>> | undefined {
  const params = slot.candidate.target.params;
  for (const _ in params) return params;
  return undefined;
}

/** What an attempt is sent with: the API key, if any, and the adapter that sends it. */
export interface AttemptCredential {
  apiKey?: string;
  provider: Provider;
}

/**
 * The API key of the slot's target and the adapter to send with: the candidate's, unless the
 * target's credential has settings naming its own endpoint (`DispatchEnv.endpoint`: a map lookup).
 * An `auth` failure when the target names a credential that cannot be read.
 */
export async function credentialFor(scope: RequestScope, slot: Slot): Promise<AttemptCredential> {
  const { target, provider } = slot.candidate;
  const name = target.credential;
  if (name === undefined) return { provider };
  let found: Awaited<ReturnType<typeof scope.env.credential>>;
  try {
    found = await scope.env.credential(name);
  } catch (cause) {
    throw new ProviderError("auth", `the credential of ${target.provider} could not be read`, { cause });
  }
  if (found === undefined) throw new ProviderError("auth", `the credential of ${target.provider} is not available`);
  if (typeof found === "string") return { apiKey: found, provider };
  // Settings naming no endpoint (an Azure api_version with no base_url and none configured): the
  // candidate's adapter, which for a kind without an endpoint fails saying what to set.
  const own = found.settings === undefined ? undefined : scope.env.endpoint(target.provider, found.settings);
  return { apiKey: found.apiKey, provider: own ?? provider };
}
