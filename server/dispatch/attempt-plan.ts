import { retryDelayMs } from "./backoff.js";
import { breakerKey, type BreakerPermit, type CircuitBreaker } from "./breaker.js";
import type { AttemptHandle } from "./attempt-record.js";
import type { Candidate } from "./capabilities.js";
import type { RequestScope, StopReason } from "./request-scope.js";
import type { Release } from "./retry-budget.js";
import { ProviderError } from "../providers/provider-error.js";
import { emptyUsage } from "../providers/model.js";
import type { FailureDecision } from "./retryable.js";

/** An attempt that may be sent: breaker permit and budget slot held, index assigned. */
export interface Slot {
  candidate: Candidate;
  /** Position of the target in the request's order. */
  position: number;
  handle: AttemptHandle;
  permit: BreakerPermit;
  releaseRetry: Release;
  hedged: boolean;
  startedAt: number;
}

/** What to do after every attempt in flight has failed. */
export type NextStep = { waitMs: number } | { stop: StopReason };

/**
 * Walks the ordered targets: up to `retry.maxAttempts` sends per target with backoff, then the
 * next target; a target whose breaker is open is skipped and recorded as `circuit_open` (no
 * request sent); every send after the request's first needs a retry-budget slot, except a
 * fallback (the first send to a deployment not yet tried, its breaker closed); and another
 * send to a target the request already tried (a retry, or a later target of the route that is the
 * same deployment) needs that target's retry throttle to allow it. A throttled retry falls back,
 * and so does a send the budget refuses (a refused hedge only gives up hedging).
 */
export interface AttemptPlan {
  /**
   * Claims the next attempt: the pending retry, else the next unvisited target. A hedge always
   * takes the next unvisited target. Returns why no attempt may start when none may.
   */
  claim(hedged: boolean): Slot | StopReason;
  /** Decides, after the last attempt in flight failed, whether to retry its target (after how long), fall back, or stop. */
  afterFailure(slot: Slot, err: unknown, decision: FailureDecision): NextStep;
  /**
   * The failure of a request that sent nothing because every target's breaker was open:
   * Unavailable, with the time until the first of them lets a probe through as its retry hint
   * (RELIABILITY P11), none when one already does.
   */
  shedError(): ProviderError;
}

/** Creates the plan of one request. */
export function createAttemptPlan(scope: RequestScope): AttemptPlan {
  const { env, route, order } = scope;
  let visited = 0;
  let retryAt: number | undefined;
  let sent = 0;
  const tries = new Map<number, number>();
  /** Breaker keys of the targets sent to so far: a second target with the same key is a retry of it. */
  const triedKeys = new Set<string>();
  /**
   * The last failure's retry was not made for want of time: if no other attempt starts, the
   * deadline stopped the request. Cleared when an attempt is sent.
   */
  let retryPassedOver = false;
  /** The least time until a breaker this request skipped lets a probe through. */
  let probeInMs: number | undefined;

  const skipOpen = (c: Candidate, breaker: CircuitBreaker, hedged: boolean): void => {
    const wait = breaker.probeInMs();
    probeInMs = probeInMs === undefined ? wait : Math.min(probeInMs, wait);
    const handle = scope.log.begin({ targetIndex: c.targetIndex, provider: c.target.provider, model: c.target.model, hedged });
    handle.finish({ outcome: "circuit_open", latencyMs: 0, usage: emptyUsage(false), error: "circuit breaker open; no request sent" });
  };

  return {
    claim(hedged) {
      // The budget refused an attempt this claim passed over: if nothing else may start, it stopped the request.
      let budgetRefused = false;
      for (;;) {
        const retry = hedged ? undefined : retryAt;
        const position = retry ?? (visited < order.length ? visited : undefined);
        // Nothing left to try: the last failure is the answer, however little time is left, unless
        // its retry was passed over for the deadline. The deadline stops only an attempt that would
        // otherwise have been made (RequestScope.failure).
        if (position === undefined) return budgetRefused ? "budget" : retryPassedOver ? "deadline" : "exhausted";
        const stop = scope.stopReason();
        if (stop) return stop;
        if (retry !== undefined) retryAt = undefined;
        const candidate = order[position] as Candidate;
        const breaker = env.breakers.get(candidate.target, route.breaker);
        const permit = breaker.tryAcquire();
        const advanced = position === visited;
        if (advanced) visited++;
        if (!permit) {
          skipOpen(candidate, breaker, hedged);
          continue;
        }
        const key = breakerKey(candidate.target);
        if (advanced && triedKeys.has(key) && !env.throttle.allowRetry(candidate.target, route.retry)) {
          // The same deployment under another position of the route: throttled like a retry.
          permit.settle("ignore");
          continue;
        }
        let releaseRetry: Release = () => {};
        // A fallback — the first send to a deployment this request has not tried, whose breaker is
        // closed — is not a retry: that target's own breaker and retry throttle bound it. Retries,
        // hedges and a half-open target's probe take a budget slot.
        const fallback = advanced && !hedged && !triedKeys.has(key) && breaker.state() === "closed";
        if (sent > 0 && !fallback) {
          const slot = env.budget.tryAcquireRetry(route.retry);
          if (!slot) {
            permit.settle("ignore");
            if (hedged) {
              // Not sent: a later claim may still try this target as the fallback.
              if (advanced) visited--;
              return "budget";
            }
            // A refused retry (or probe, or same-deployment send) falls back, as a throttled one
            // does: the next untried, closed target needs no slot, and the budget must not stand
            // between the request and a healthy fallback (README "retry budget").
            budgetRefused = true;
            continue;
          }
          releaseRetry = slot;
        }
        sent++;
        retryPassedOver = false;
        triedKeys.add(key);
        tries.set(position, (tries.get(position) ?? 0) + 1);
        const { target, targetIndex } = candidate;
        return {
          candidate,
          position,
          handle: scope.log.begin({ targetIndex, provider: target.provider, model: target.model, hedged }),
          permit,
          releaseRetry,
          hedged,
          startedAt: env.now(),
        };
      }
    },
    afterFailure(slot, err, decision) {
      // A failure nothing may follow is the answer: a deadline merely near (less than
      // `minAttemptMs` left) stopped no attempt, so the provider's error is reported, not
      // DeadlineExceeded. One that has passed, or a caller's cancel, still is (RequestScope.failure).
      if (!decision.fallback && !decision.retrySameTarget) return { stop: "exhausted" };
      if (
        decision.retrySameTarget &&
        (tries.get(slot.position) ?? 0) < route.retry.maxAttempts &&
        // Checked last: a refusal is counted. Refused, the request falls back as if out of attempts.
        env.throttle.allowRetry(slot.candidate.target, route.retry)
      ) {
        const delay = retryDelayMs({
          retry: tries.get(slot.position) ?? 1,
          policy: route.retry,
          random: env.random,
          ...(err instanceof ProviderError && err.retryAfterMs !== undefined ? { retryAfterMs: err.retryAfterMs } : {}),
          maxRetryAfterMs: env.maxRetryAfterMs,
          now: env.now(),
          deadline: scope.deadline,
          minAttemptMs: env.minAttemptMs,
        });
        if (typeof delay === "number") {
          retryAt = slot.position;
          return { waitMs: delay };
        }
        retryPassedOver = delay === "deadline";
      }
      if (!decision.fallback) return { stop: retryPassedOver ? "deadline" : "exhausted" };
      return { waitMs: 0 };
    },
    shedError() {
      const message = "every target's circuit breaker is open";
      return new ProviderError("overloaded", message, probeInMs === undefined || probeInMs <= 0 ? {} : { retryAfterMs: probeInMs });
    },
  };
}
