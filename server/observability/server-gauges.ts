import type { BreakerState, BreakerTarget } from "../dispatch/breaker.js";
import type { RetryThrottleState } from "../dispatch/retry-throttle.js";
import type { Metrics } from "./metrics.js";
import type { Readiness } from "./readiness.js";
import type { StateBreakerStatus } from "../store/state/breaker-state.js";

/** Where the scrape-time gauges read from; each is optional. */
export interface GaugeSources {
  breakers?: { states(): Array<{ target: BreakerTarget; state: BreakerState }> };
  /** The dispatcher's per-target retry throttle. */
  retryThrottle?: { states(): RetryThrottleState[] };
  /** Usage-ledger records waiting for Postgres. */
  usageBufferDepth?: () => number;
  requestLog?: { pending(): number; dropped(): number; rejected(): number };
  readiness?: Readiness;
  /** The shared state backend's circuit breaker (with Redis). */
  stateBreaker?: StateBreakerStatus;
  /** The guardrail policy resolver's count of enabled policies that do not compile. */
  guardrails?: { brokenPolicies(): number };
}

const BREAKER_VALUE: Record<BreakerState, number> = { closed: 0, half_open: 1, open: 2 };

/**
 * Registers the gauges read when `/metrics` is scraped: circuit-breaker state per provider and
 * model (the worst over credentials), the retry throttle's tokens and refusals per provider and
 * model (the fewest tokens and the sum of refusals over credentials), the usage ledger's and
 * request log's buffer depths, rows the request log dropped, each dependency's readiness, the state backend's breaker,
 * and the guardrail policies that do not compile.
 */
export function addServerGauges(metrics: Metrics, sources: GaugeSources): void {
  const { breakers, retryThrottle, usageBufferDepth, requestLog, readiness, stateBreaker, guardrails } = sources;
  if (retryThrottle) addThrottleGauges(metrics, retryThrottle);
  if (breakers) {
    metrics.addScrapeGauge({
      name: "switchboard_breaker_state",
      help: "Circuit breaker per provider and model: 0 closed, 1 half-open, 2 open (the worst over credentials).",
      labelNames: ["provider", "model"],
      read() {
        const worst = new Map<string, { labels: Record<string, string>; value: number }>();
        for (const { target, state } of breakers.states()) {
          const key = JSON.stringify([target.provider, target.model]);
          const value = BREAKER_VALUE[state];
          if ((worst.get(key)?.value ?? -1) < value) worst.set(key, { labels: { provider: target.provider, model: target.model }, value });
        }
        return worst.values();
      },
    });
  }
  if (stateBreaker) {
    metrics.addScrapeGauge({
      name: "switchboard_state_breaker_state",
      help: "Circuit breaker of the shared state backend (Redis): 0 closed, 1 half-open, 2 open.",
      read: () => [{ value: BREAKER_VALUE[stateBreaker.state()] }],
    });
    metrics.addScrapeGauge({
      name: "switchboard_state_breaker_opens",
      help: "Times the state backend's breaker opened since start (a counter that resets on restart).",
      read: () => [{ value: stateBreaker.opens() }],
    });
    metrics.addScrapeGauge({
      name: "switchboard_state_breaker_rejected_calls",
      help: "State backend calls the open breaker refused without sending them, since start (a counter that resets on restart).",
      read: () => [{ value: stateBreaker.rejected() }],
    });
  }
  if (usageBufferDepth) {
    metrics.addScrapeGauge({
      name: "switchboard_usage_buffer_depth",
      help: "Usage-ledger records buffered locally, not yet committed to Postgres.",
      read: () => [{ value: usageBufferDepth() }],
    });
  }
  if (requestLog) {
    metrics.addScrapeGauge({ name: "switchboard_request_log_buffer_depth", help: "Request-log rows waiting to be written.", read: () => [{ value: requestLog.pending() }] });
    metrics.addScrapeGauge({
      name: "switchboard_request_log_dropped_rows",
      help: "Request-log rows dropped since start because the buffer was full (a counter that resets on restart).",
      read: () => [{ value: requestLog.dropped() }],
    });
    metrics.addScrapeGauge({
      name: "switchboard_request_log_rejected_rows",
      help: "Request-log rows dropped since start because Postgres refused their content (a counter that resets on restart).",
      read: () => [{ value: requestLog.rejected() }],
    });
  }
  if (guardrails) {
    metrics.addScrapeGauge({
      name: "switchboard_guardrail_policies_broken",
      help: "Enabled guardrail policies this replica cannot compile (a stricter compiler after an upgrade); every call they govern is refused.",
      read: () => [{ value: guardrails.brokenPolicies() }],
    });
  }
  if (readiness) {
    metrics.addScrapeGauge({
      name: "switchboard_dependency_up",
      help: "Readiness verdict per dependency (postgres, state, providers): 1 up, 0 down.",
      labelNames: ["dependency"],
      read: () => Object.entries(readiness.report().dependencies).map(([dependency, d]) => ({ labels: { dependency }, value: d.status === "up" ? 1 : 0 })),
    });
  }
}

/** The retry throttle's buckets folded over credentials into one series per provider and model. */
function addThrottleGauges(metrics: Metrics, throttle: { states(): RetryThrottleState[] }): void {
  const byModel = (): Array<{ labels: Record<string, string>; tokens: number; throttled: number }> => {
    const out = new Map<string, { labels: Record<string, string>; tokens: number; throttled: number }>();
    for (const { target, tokens, throttled } of throttle.states()) {
      const key = JSON.stringify([target.provider, target.model]);
      const seen = out.get(key);
      if (seen) {
        seen.tokens = Math.min(seen.tokens, tokens);
        seen.throttled += throttled;
      } else out.set(key, { labels: { provider: target.provider, model: target.model }, tokens, throttled });
    }
    return [...out.values()];
  };
  metrics.addScrapeGauge({
    name: "switchboard_retry_throttle_tokens",
    help: "gRPC A6 retry-throttle tokens per provider and model (the fewest over credentials); retries stop at half the route's throttleMaxTokens or less.",
    labelNames: ["provider", "model"],
    read: () => byModel().map((s) => ({ labels: s.labels, value: s.tokens })),
  });
  metrics.addScrapeGauge({
    name: "switchboard_retries_throttled",
    help: "Retries refused by the retry throttle since start, per provider and model (a counter that resets on restart).",
    labelNames: ["provider", "model"],
    read: () => byModel().map((s) => ({ labels: s.labels, value: s.throttled })),
  });
}
