import { EgressRefusedError } from "../http/egress-connect.js";
import { ProviderError, type ProviderErrorKind } from "../providers/provider-error.js";
import { ROUTE_DEFAULTS } from "./route-types.js";

/**
 * How one attempt ended, by the names of the proto's `AttemptOutcome` (without the prefix).
 * `success` and `circuit_open` are set by dispatch itself; the rest come from {@link attemptOutcome}.
 */
export type AttemptOutcomeName =
  | "success"
  | "rate_limited"
  | "unavailable"
  | "timeout"
  | "connection_error"
  | "rejected"
  | "auth_error"
  | "circuit_open"
  | "cancelled"
  | "stream_error";

/** What the circuit breaker makes of a failed attempt. */
export type BreakerVerdict =
  /** The upstream is at fault: counts against the target. */
  | "failure"
  /** The upstream answered as designed (it rejected our content): counts as healthy. */
  | "success"
  /** No evidence either way (we gave up on it): not counted. */
  | "ignore";

/** The facts about an attempt's failure that retryability depends on beyond the error itself. */
export interface FailureContext {
  /** Some content of this request already reached the caller (gRPC A6 "committed"). */
  committed: boolean;
  /** The request's overall deadline has passed (or too little of it is left to try again). */
  deadlineExpired: boolean;
  /** Route policy: whether a broken credential (`auth`) falls back to the next target. */
  fallbackOnAuth: boolean;
  /** Route policy: whether a provider's `context_length` refusal falls back to the next target. */
  fallbackOnContextLength: boolean;
  /** Route policy: whether a provider's `content_filter` refusal falls back to the next target. */
  fallbackOnContentFilter: boolean;
}

/** The one decision retry, fallback, breakers and metrics all take from a failed attempt. */
export interface FailureDecision {
  /** Try the same target again (after backoff, inside the budget and the deadline). */
  retrySameTarget: boolean;
  /** Move on to the next target. */
  fallback: boolean;
  outcome: AttemptOutcomeName;
  breaker: BreakerVerdict;
}

interface KindRule {
  retry: boolean;
  /** A route policy's name where the route decides (see {@link FailureContext}). */
  fallback: boolean | "auth" | "context_length" | "content_filter";
  outcome: AttemptOutcomeName;
  breaker: BreakerVerdict;
}

// Only failures where the provider did not process the request (or failed doing so) are retried
// (gRPC A6; RELIABILITY P9): never 400/401/403/404/413/422.
const RULES: Record<ProviderErrorKind, KindRule> = {
  rate_limited: { retry: true, fallback: true, outcome: "rate_limited", breaker: "failure" },
  overloaded: { retry: true, fallback: true, outcome: "unavailable", breaker: "failure" },
  server_error: { retry: true, fallback: true, outcome: "unavailable", breaker: "failure" },
  timeout: { retry: true, fallback: true, outcome: "timeout", breaker: "failure" },
  connection: { retry: true, fallback: true, outcome: "connection_error", breaker: "failure" },
  bad_request: { retry: false, fallback: false, outcome: "rejected", breaker: "success" },
  // The provider refused this prompt for this model: the same target refuses it again, but the
  // route may list a bigger-window target (the chars/4 pre-check of context-window.ts misses CJK
  // text, tool JSON and undeclared windows), or one with another moderation policy (opt-in).
  context_length: { retry: false, fallback: "context_length", outcome: "rejected", breaker: "success" },
  content_filter: { retry: false, fallback: "content_filter", outcome: "rejected", breaker: "success" },
  not_found: { retry: false, fallback: false, outcome: "rejected", breaker: "success" },
  // Our credential is broken: the same target will refuse again, another target may not. It
  // counts against the target so a dead credential is skipped quickly instead of re-tried.
  auth: { retry: false, fallback: "auth", outcome: "auth_error", breaker: "failure" },
  // A break before any byte reached the caller is as good as a connection failure.
  stream_error: { retry: true, fallback: true, outcome: "stream_error", breaker: "failure" },
  cancelled: { retry: false, fallback: false, outcome: "cancelled", breaker: "ignore" },
};

/**
 * Decides, in one place, whether a failed attempt may be retried on the same target, may fall
 * back to the next one, how it is reported, and how the breaker counts it. Nothing is retried
 * once the request is committed or its deadline has passed; an error that is not a
 * `ProviderError` is an adapter bug and is neither retried nor hidden behind another target.
 */
export function decideFailure(err: unknown, ctx: FailureContext): FailureDecision {
  if (!(err instanceof ProviderError)) {
    return { retrySameTarget: false, fallback: false, outcome: "unavailable", breaker: "ignore" };
  }
  const stop = ctx.committed || ctx.deadlineExpired;
  // The egress policy refused the target's address (a credential's `base_url`): the same target
  // is refused again, so it is not retried, but the next target may be reachable. Our own
  // configuration, not the upstream's health: the breaker does not count it (an open breaker
  // would answer later requests circuit_open, hiding which setting refuses the address).
  if (egressRefusal(err) !== undefined) return { retrySameTarget: false, fallback: !stop, outcome: "connection_error", breaker: "ignore" };
  const rule = RULES[err.kind];
  const fallback = typeof rule.fallback === "boolean" ? rule.fallback : routeFallback(rule.fallback, ctx);
  return {
    retrySameTarget: rule.retry && !stop,
    fallback: fallback && !stop,
    outcome: rule.outcome,
    // Giving up because of our own deadline says nothing about the upstream's health.
    breaker: ctx.deadlineExpired && err.kind === "timeout" ? "ignore" : rule.breaker,
  };
}

/**
 * The egress policy's refusal that failed an attempt (`http/egress-connect.ts`; the HTTP client
 * classifies it as a `connection` failure with the refusal as its cause), or undefined.
 */
export function egressRefusal(err: unknown): EgressRefusedError | undefined {
  return err instanceof ProviderError && err.cause instanceof EgressRefusedError ? err.cause : undefined;
}

function routeFallback(policy: "auth" | "context_length" | "content_filter", ctx: FailureContext): boolean {
  if (policy === "auth") return ctx.fallbackOnAuth;
  return policy === "context_length" ? ctx.fallbackOnContextLength : ctx.fallbackOnContentFilter;
}

/** The route-policy part of a {@link FailureContext}, as a route that sets none has it. */
const DEFAULT_POLICY = {
  fallbackOnAuth: ROUTE_DEFAULTS.retry.fallbackOnAuth,
  fallbackOnContextLength: ROUTE_DEFAULTS.retry.fallbackOnContextLength,
  fallbackOnContentFilter: ROUTE_DEFAULTS.retry.fallbackOnContentFilter,
};

/**
 * Whether a failure of this kind may be retried or fall back at all, before anything reached the
 * caller and with time left: the short form of {@link decideFailure} for metrics and tests.
 */
export function isRetryable(err: unknown, fallbackOnAuth = true): boolean {
  const d = decideFailure(err, { ...DEFAULT_POLICY, committed: false, deadlineExpired: false, fallbackOnAuth });
  return d.retrySameTarget || d.fallback;
}

/** The `AttemptOutcome` name an attempt that failed with `err` is recorded under. */
export function attemptOutcome(err: unknown): AttemptOutcomeName {
  return decideFailure(err, { ...DEFAULT_POLICY, committed: false, deadlineExpired: false }).outcome;
}
