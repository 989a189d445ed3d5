/** The knobs of a retry budget check; they come from the route, the counts are shared. */
export interface RetryBudgetPolicy {
  /** Concurrent retries allowed as a share of active requests, in percent. */
  budgetPercent: number;
  /** Concurrent retries always allowed. */
  minRetryConcurrency: number;
}

/** Releases what was taken; calling it again does nothing. */
export type Release = () => void;

/**
 * An Envoy-style retry budget, shared by every request of the process: a retry (any attempt
 * after a request's first, hedges included) may start only while the retries in flight are fewer
 * than `max(minRetryConcurrency, budgetPercent % of active requests)`. It bounds retry
 * amplification under a total outage (RELIABILITY P10) without a fixed per-request cap.
 * Unlike Envoy, a fallback to a deployment the request has not tried, whose breaker is closed,
 * takes no slot (`attempt-plan.ts`): that target's own breaker and retry throttle bound it, and
 * a budget shared with the failing target would refuse a healthy one during the outage.
 */
export interface RetryBudget {
  /** Counts a request as active until the returned release is called. */
  requestStarted(): Release;
  /** Takes a retry slot if the budget allows it, or returns `undefined`. */
  tryAcquireRetry(policy: RetryBudgetPolicy): Release | undefined;
  /** The current counts, for metrics and tests. */
  snapshot(): { activeRequests: number; activeRetries: number };
}

/** Creates a retry budget with its own counters (one per process, injected where it is shared). */
export function createRetryBudget(): RetryBudget {
  let activeRequests = 0;
  let activeRetries = 0;
  const once = (fn: () => void): Release => {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      fn();
    };
  };
  return {
    requestStarted() {
      activeRequests++;
      return once(() => {
        activeRequests--;
      });
    },
    tryAcquireRetry(policy) {
      const allowed = Math.max(policy.minRetryConcurrency, (policy.budgetPercent / 100) * activeRequests);
      if (activeRetries >= allowed) return undefined;
      activeRetries++;
      return once(() => {
        activeRetries--;
      });
    },
    snapshot: () => ({ activeRequests, activeRetries }),
  };
}
