import type { BreakerState, BreakerTarget } from "../dispatch/breaker.js";
import type { Metrics } from "./metrics.js";
import type { Readiness } from "./readiness.js";

/** Where the scrape-time gauges read from; each is optional. */
export interface GaugeSources {
  breakers?: { states(): Array<{ target: BreakerTarget; state: BreakerState }> };
  /** Usage-ledger records waiting for Postgres. */
  usageBufferDepth?: () => number;
  requestLog?: { pending(): number; dropped(): number };
  readiness?: Readiness;
}

const BREAKER_VALUE: Record<BreakerState, number> = { closed: 0, half_open: 1, open: 2 };

/**
 * Registers the gauges read when `/metrics` is scraped: circuit-breaker state per provider and
 * model (the worst over credentials), the usage ledger's and request log's buffer depths, rows the
 * request log dropped, and each dependency's readiness.
 */
export function addServerGauges(metrics: Metrics, sources: GaugeSources): void {
  const { breakers, usageBufferDepth, requestLog, readiness } = sources;
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
