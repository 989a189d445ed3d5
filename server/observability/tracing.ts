import { INVALID_SPAN_CONTEXT, ROOT_CONTEXT, trace, type Attributes, type Context, type Span, type SpanKind } from "@opentelemetry/api";
import type { SpanExporter } from "@opentelemetry/sdk-trace-base";

export { SpanKind, SpanStatusCode, type Attributes, type Context, type Span } from "@opentelemetry/api";

/** Options of {@link createTracing}. */
export interface TracingOptions {
  /**
   * OTLP/HTTP collector base URL (`OTEL_EXPORTER_OTLP_ENDPOINT`, e.g. `http://collector:4318`):
   * spans go, batched, to `<url>/v1/traces`. A URL already ending in `/v1/traces` is used as is.
   */
  otlpEndpoint?: string;
  /** An exporter to send every span to as it ends (tests: `InMemorySpanExporter`). */
  exporter?: SpanExporter;
  /** `service.name` of the resource (default `switchboard`). */
  serviceName?: string;
}

/** Where a span starts. */
export interface SpanStart {
  kind?: SpanKind;
  attributes?: Attributes;
  /** The parent's context; default the active one ({@link Tracing.active}). */
  parent?: Context;
  /** Epoch ms it started, when earlier than now (a query reported once it ended). */
  startTime?: number;
}

/**
 * The gateway's tracer: spans for RPCs, model calls, state-backend calls and provider attempts,
 * with W3C trace context accepted from callers and sent to providers. The active context travels
 * in an AsyncLocalStorage of this instance (not OpenTelemetry's global context manager and not a
 * global tracer provider), so several gateways in one process trace apart.
 *
 * Disabled (no endpoint, no exporter) it is free: `enabled` is false, callers skip their span
 * work, and nothing is created, stored or sent.
 */
export interface Tracing {
  readonly enabled: boolean;
  /** Starts a span, a child of `start.parent` or of the active context. */
  startSpan(name: string, start?: SpanStart): Span;
  /** The caller's trace context from its `traceparent`/`tracestate` headers (ROOT when absent or malformed). */
  extract(header: (name: string) => string | null | undefined): Context;
  /** The `traceparent` (and `tracestate`) headers that continue `ctx` in an outgoing request. */
  inject(ctx: Context): Record<string, string>;
  /** `ctx` with `span` as its current span. */
  withSpan(ctx: Context, span: Span): Context;
  /** Runs `fn` with `ctx` active: spans started inside (awaits included) are its children. */
  run<T>(ctx: Context, fn: () => T): T;
  /** The active context (ROOT outside any {@link run}). */
  active(): Context;
  /** Whether a span is being recorded in the active context (state and query spans start only inside one). */
  inSpan(): boolean;
  /** Exports what is buffered and stops. */
  shutdown(): Promise<void>;
}

/**
 * Creates the tracer: enabled with an exporter or an OTLP endpoint, free without. The
 * OpenTelemetry SDK (`tracing-sdk.ts`: ≈ 100 modules, ≈ 3 MB of heap for its sources and
 * semantic-convention tables) is imported only when tracing is on.
 */
export async function createTracing(opts: TracingOptions = {}): Promise<Tracing> {
  if (opts.exporter === undefined && opts.otlpEndpoint === undefined) return disabledTracing();
  const { createSdkTracing } = await import("./tracing-sdk.js");
  return createSdkTracing(opts);
}

/** The OTLP/HTTP traces URL of a collector base URL (the spec's `OTEL_EXPORTER_OTLP_ENDPOINT` rule). */
export function tracesUrl(endpoint: string): string {
  if (/\/v1\/traces\/?$/.test(endpoint)) return endpoint;
  return `${endpoint.replace(/\/+$/, "")}/v1/traces`;
}

/** The tracer of a gateway that traces nothing: every method a no-op, nothing allocated per call. */
export function disabledTracing(): Tracing {
  const noop = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
  return {
    enabled: false,
    startSpan: () => noop,
    extract: () => ROOT_CONTEXT,
    inject: () => ({}),
    withSpan: (ctx) => ctx,
    run: (_ctx, fn) => fn(),
    active: () => ROOT_CONTEXT,
    inSpan: () => false,
    shutdown: async () => {},
  };
}
