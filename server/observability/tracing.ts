import { AsyncLocalStorage } from "node:async_hooks";
import {
  INVALID_SPAN_CONTEXT,
  ROOT_CONTEXT,
  SpanKind,
  trace,
  type Attributes,
  type Context,
  type Span,
  type TextMapGetter,
  type TextMapSetter,
} from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, BatchSpanProcessor, SimpleSpanProcessor, type ReadableSpan, type SpanExporter } from "@opentelemetry/sdk-trace-base";
import { ATTR_SERVICE_NAME } from "@opentelemetry/semantic-conventions";

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

const getter: TextMapGetter<(name: string) => string | null | undefined> = {
  get: (carrier, key) => carrier(key) ?? undefined,
  keys: () => ["traceparent", "tracestate"],
};
const setter: TextMapSetter<Record<string, string>> = {
  set: (carrier, key, value) => {
    carrier[key] = value;
  },
};

/** Creates the tracer: enabled with an exporter or an OTLP endpoint, free without. */
export function createTracing(opts: TracingOptions = {}): Tracing {
  if (opts.exporter === undefined && opts.otlpEndpoint === undefined) return disabledTracing();
  const spanProcessors = [];
  if (opts.exporter !== undefined) spanProcessors.push(new SimpleSpanProcessor(opts.exporter));
  if (opts.otlpEndpoint !== undefined) spanProcessors.push(new BatchSpanProcessor(lazyOtlpExporter(tracesUrl(opts.otlpEndpoint))));
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: opts.serviceName ?? "switchboard" }),
    spanProcessors,
  });
  const tracer = provider.getTracer("switchboard");
  const propagator = new W3CTraceContextPropagator();
  const storage = new AsyncLocalStorage<Context>();
  const active = () => storage.getStore() ?? ROOT_CONTEXT;
  return {
    enabled: true,
    startSpan: (name, start = {}) =>
      tracer.startSpan(
        name,
        {
          kind: start.kind ?? SpanKind.INTERNAL,
          ...(start.attributes ? { attributes: start.attributes } : {}),
          ...(start.startTime === undefined ? {} : { startTime: start.startTime }),
        },
        start.parent ?? active(),
      ),
    extract: (header) => propagator.extract(ROOT_CONTEXT, header, getter),
    inject(ctx) {
      const out: Record<string, string> = {};
      propagator.inject(ctx, out, setter);
      return out;
    },
    withSpan: (ctx, span) => trace.setSpan(ctx, span),
    run: (ctx, fn) => storage.run(ctx, fn),
    active,
    inSpan: () => trace.getSpan(active())?.isRecording() === true,
    shutdown: () => provider.shutdown(),
  };
}

/** The OTLP/HTTP traces URL of a collector base URL (the spec's `OTEL_EXPORTER_OTLP_ENDPOINT` rule). */
export function tracesUrl(endpoint: string): string {
  if (/\/v1\/traces\/?$/.test(endpoint)) return endpoint;
  return `${endpoint.replace(/\/+$/, "")}/v1/traces`;
}

/**
 * The OTLP/HTTP exporter, loaded on first use: its module costs ~150 ms to import, which a
 * gateway without a collector should not pay at start.
 */
function lazyOtlpExporter(url: string): SpanExporter {
  const loaded = import("@opentelemetry/exporter-trace-otlp-http").then(({ OTLPTraceExporter }) => new OTLPTraceExporter({ url }));
  return {
    export(spans: ReadableSpan[], done: Parameters<SpanExporter["export"]>[1]) {
      loaded.then(
        (exporter) => exporter.export(spans, done),
        (error: unknown) => done({ code: 1, error: error instanceof Error ? error : new Error(String(error)) }),
      );
    },
    shutdown: () => loaded.then((exporter) => exporter.shutdown()),
    forceFlush: () => loaded.then((exporter) => exporter.forceFlush?.()),
  };
}

function disabledTracing(): Tracing {
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
