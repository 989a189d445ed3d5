import { moves, type AttemptRecord } from "../dispatch/attempt-record.js";
import type { CallMeta } from "../pipeline/model-call.js";
import type { TokenUsage } from "../providers/model.js";
import { outcomeCode, refusalDetail } from "./code-name.js";
import type { Metrics } from "./metrics.js";
import type { CallSink } from "./observe-stage.js";

/** Dependencies of {@link createMetricsSink}. */
export interface MetricsSinkDeps {
  metrics: Metrics;
  /** Route aliases as a caller's org sees them: a label takes only an alias that resolves. */
  routes: { resolve(alias: string, orgId?: string): unknown };
  /** The cost of one attempt in micro-USD (the price book). */
  cost(provider: string, model: string, usage: TokenUsage): bigint;
}

/**
 * Turns each observed model call into the model-call metrics: calls by verb/route/code, cache
 * lookups, attempts by outcome with their latency and time to first token, tokens and cost per
 * attempt by org/team/route/provider/model (failed attempts are billed, so they count), retries,
 * fallbacks and ResourceExhausted refusals by detail type.
 */
export function createMetricsSink(deps: MetricsSinkDeps): CallSink {
  const routeLabel = (meta: CallMeta) => (deps.routes.resolve(meta.route, meta.caller?.orgId) === undefined ? "unknown" : meta.route);
  return {
    ended(o) {
      const rejectedBy = refusalDetail(o.error);
      const { retries, fallbacks } = moves(o.attempts);
      deps.metrics.modelCallEnded({
        verb: o.meta.verb,
        route: routeLabel(o.meta),
        org: o.meta.caller?.orgId ?? "",
        team: o.meta.caller?.teamId ?? "",
        code: outcomeCode(o.error),
        cacheStatus: o.cacheStatus ?? "miss",
        retries,
        fallbacks,
        ...(rejectedBy === undefined ? {} : { rejectedBy }),
        attempts: o.attempts.map((a) => ({
          provider: a.provider,
          model: a.model,
          outcome: a.outcome,
          seconds: a.latencyMs / 1000,
          ...(a.timeToFirstTokenMs === undefined ? {} : { timeToFirstTokenSeconds: a.timeToFirstTokenMs / 1000 }),
          inputTokens: a.usage.inputTokens,
          outputTokens: a.usage.outputTokens,
          cachedInputTokens: a.usage.cachedInputTokens,
          reasoningTokens: a.usage.reasoningTokens,
          costMicrosUsd: deps.cost(a.provider, a.model, a.usage),
        })),
      });
    },
  };
}

