import { collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { createBatchedCounter } from "./batched-counter.js";
import { heapRetainedBytes } from "./heap-retained.js";

/**
 * Latency buckets in seconds, from a cache hit (milliseconds) to a long generation (minutes):
 * model calls span five orders of magnitude, so the default prom-client buckets (≤ 10 s) would
 * put every slow answer in `+Inf`.
 */
export const LATENCY_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/** One ended RPC, as the telemetry interceptor saw it. */
export interface RpcObservation {
  service: string;
  method: string;
  /** `ok` or the canonical code name (`invalid_argument`). */
  code: string;
  seconds: number;
  /** Route of a CapabilityService RPC (from its call summary). */
  route?: string;
  /** Streams with content: from the RPC's start to its first content message. */
  timeToFirstTokenSeconds?: number;
}

/** One provider attempt of a model call. */
export interface AttemptObservation {
  provider: string;
  model: string;
  outcome: string;
  seconds: number;
  timeToFirstTokenSeconds?: number;
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  reasoningTokens: number;
  costMicrosUsd: bigint;
}

/** The `kind` label of `switchboard_tokens_total` for each token count of an attempt. */
const TOKEN_KINDS = [
  ["input", "inputTokens"],
  ["output", "outputTokens"],
  ["cached_input", "cachedInputTokens"],
  ["reasoning", "reasoningTokens"],
] as const;

/** One ended model call (a verb may make several per RPC; the OpenAI surface makes one). */
export interface ModelCallObservation {
  verb: string;
  /** A route the caller's org has, or `unknown` (labels never take caller-typed text). */
  route: string;
  /** Internal ids, or `""` for calls without a caller. */
  org: string;
  team: string;
  /** `ok` or the canonical code name. */
  code: string;
  cacheStatus: string;
  attempts: readonly AttemptObservation[];
  retries: number;
  fallbacks: number;
  /** A refusal of ours (`ResourceExhausted`): the type of its detail (`BudgetExceeded`, `RateLimitExceeded`, or `none`). */
  rejectedBy?: string;
}

/** A gauge whose value is read when `/metrics` is scraped. */
export interface ScrapeGauge {
  name: string;
  help: string;
  labelNames?: readonly string[];
  /** The series now: labels (by name) and value. */
  read(): Iterable<{ labels?: Record<string, string>; value: number }>;
}

/** Options of {@link createMetrics}. */
export interface MetricsOptions {
  /** Also export the Node process metrics (CPU, memory, event-loop lag, GC); default true. */
  processMetrics?: boolean;
}

/**
 * The gateway's Prometheus metrics: one registry per server instance (never prom-client's global
 * one, so several gateways in one process keep apart), with recording methods for the layers that
 * observe traffic. Every label value is an id or an enum (service, method, code, verb, route,
 * org and team ids, provider kind, configured model, outcome): no key ids and no free text, so the
 * series count is bounded by configuration, not by traffic. The README lists every series.
 */
export interface Metrics {
  readonly registry: Registry;
  /** `text/plain; version=0.0.4`, for the `/metrics` response. */
  readonly contentType: string;
  rpcEnded(o: RpcObservation): void;
  modelCallEnded(o: ModelCallObservation): void;
  /** Adds a gauge read at scrape time (breaker states, buffer depths, dependency health). */
  addScrapeGauge(g: ScrapeGauge): void;
  /** The exposition text. */
  render(): Promise<string>;
}

/** Creates the metrics of one server instance. */
export function createMetrics(opts: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  const registers = [registry];
  /** A gauge whose series are read at scrape time (see {@link ScrapeGauge}). */
  const scrapeGauge = (g: ScrapeGauge): void => {
    new Gauge({
      name: g.name,
      help: g.help,
      labelNames: [...(g.labelNames ?? [])],
      registers,
      collect() {
        this.reset();
        for (const { labels, value } of g.read()) {
          if (labels === undefined) this.set(value);
          else this.set(labels, value);
        }
      },
    });
  };
  if (opts.processMetrics ?? true) {
    collectDefaultMetrics({ register: registry });
    heapRetainedBytes(); // starts its GC observer now, not at the first scrape
    scrapeGauge({
      name: "switchboard_heap_retained_bytes",
      help: "Bytes of V8's old-generation objects right after the last full garbage collection (compiled code apart): what the live objects take (0 before the first one). Its slope, not RSS's, tells a leak.",
      read() {
        const bytes = heapRetainedBytes();
        return bytes === undefined ? [] : [{ value: bytes }];
      },
    });
  }

  const rpcRequests = createBatchedCounter({
    name: "switchboard_rpc_requests_total",
    help: "RPCs ended, by service, method and canonical code.",
    labelNames: ["service", "method", "code"] as const,
    registers,
  });
  const rpcDuration = new Histogram({
    name: "switchboard_rpc_duration_seconds",
    help: "RPC latency from the first interceptor to the last message, by service, method and code.",
    labelNames: ["service", "method", "code"] as const,
    buckets: [...LATENCY_BUCKETS],
    registers,
  });
  const rpcTtft = new Histogram({
    name: "switchboard_rpc_time_to_first_token_seconds",
    help: "Streaming RPCs: time from the RPC's start to its first content message, by method and route.",
    labelNames: ["method", "route"] as const,
    buckets: [...LATENCY_BUCKETS],
    registers,
  });
  const modelCalls = createBatchedCounter({
    name: "switchboard_model_calls_total",
    help: "Model calls through the pipeline (both front doors), by verb, route and code.",
    labelNames: ["verb", "route", "code"] as const,
    registers,
  });
  const cacheLookups = createBatchedCounter({
    name: "switchboard_cache_lookups_total",
    help: "Answered model calls by how the response cache took part: hit_exact, hit_semantic, miss, bypass.",
    labelNames: ["route", "status"] as const,
    registers,
  });
  const tokens = createBatchedCounter({
    name: "switchboard_tokens_total",
    help: "Tokens billed over every attempt (failed ones too), by org, team, route, provider, model and kind (input, output, cached_input, reasoning).",
    labelNames: ["org", "team", "route", "provider", "model", "kind"] as const,
    registers,
  });
  const cost = createBatchedCounter({
    name: "switchboard_cost_micros_usd_total",
    help: "Cost of every attempt in micro-USD, by org, team, route, provider and model.",
    labelNames: ["org", "team", "route", "provider", "model"] as const,
    registers,
  });
  const attempts = createBatchedCounter({
    name: "switchboard_provider_attempts_total",
    help: "Provider attempts by provider, configured model and outcome (success, rate_limited, unavailable, timeout, …, circuit_open, cancelled).",
    labelNames: ["provider", "model", "outcome"] as const,
    registers,
  });
  const attemptDuration = new Histogram({
    name: "switchboard_provider_attempt_duration_seconds",
    help: "Provider attempt latency by provider, model and outcome.",
    labelNames: ["provider", "model", "outcome"] as const,
    buckets: [...LATENCY_BUCKETS],
    registers,
  });
  const attemptTtft = new Histogram({
    name: "switchboard_provider_time_to_first_token_seconds",
    help: "Streamed attempts that produced content: from sending to the first content chunk, by provider and model.",
    labelNames: ["provider", "model"] as const,
    buckets: [...LATENCY_BUCKETS],
    registers,
  });
  const retries = createBatchedCounter({
    name: "switchboard_retries_total",
    help: "Attempts that retried the same target (not hedges), by route.",
    labelNames: ["route"] as const,
    registers,
  });
  const fallbacks = createBatchedCounter({
    name: "switchboard_fallbacks_total",
    help: "Moves to another target of the route, by route.",
    labelNames: ["route"] as const,
    registers,
  });
  const rejections = createBatchedCounter({
    name: "switchboard_rejections_total",
    help: "Model calls refused with ResourceExhausted by the gateway, by org and the refusal's detail type (BudgetExceeded, RateLimitExceeded, none).",
    labelNames: ["org", "detail"] as const,
    registers,
  });

  return {
    registry,
    contentType: registry.contentType,
    rpcEnded(o) {
      const labels = { service: o.service, method: o.method, code: o.code };
      rpcRequests.inc([o.service, o.method, o.code]);
      rpcDuration.observe(labels, o.seconds);
      if (o.timeToFirstTokenSeconds !== undefined) rpcTtft.observe({ method: o.method, route: o.route ?? "" }, o.timeToFirstTokenSeconds);
    },
    modelCallEnded(o) {
      modelCalls.inc([o.verb, o.route, o.code]);
      if (o.code === "ok") cacheLookups.inc([o.route, o.cacheStatus]);
      if (o.retries > 0) retries.inc([o.route], o.retries);
      if (o.fallbacks > 0) fallbacks.inc([o.route], o.fallbacks);
      if (o.rejectedBy !== undefined) rejections.inc([o.org, o.rejectedBy]);
      for (const a of o.attempts) {
        const target = { provider: a.provider, model: a.model };
        attempts.inc([a.provider, a.model, a.outcome]);
        attemptDuration.observe({ ...target, outcome: a.outcome }, a.seconds);
        if (a.timeToFirstTokenSeconds !== undefined) attemptTtft.observe(target, a.timeToFirstTokenSeconds);
        const who = [o.org, o.team, o.route, a.provider, a.model];
        for (const [kind, field] of TOKEN_KINDS) if (a[field] > 0) tokens.inc([...who, kind], a[field]);
        if (a.costMicrosUsd > 0n) cost.inc(who, Number(a.costMicrosUsd));
      }
    },
    addScrapeGauge: scrapeGauge,
    render: () => registry.metrics(),
  };
}
