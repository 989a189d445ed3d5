/**
 * The enabled tracer of {@link createTracing}, on OpenTelemetry's SDK. A module of its own so a
 * gateway without tracing never loads the SDK.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { ROOT_CONTEXT, SpanKind, trace, type Context, type TextMapGetter, type TextMapSetter } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, BatchSpanProcessor, SimpleSpanProcessor, type ReadableSpan, type SpanExporter } from "@opentelemetry/sdk-trace-base";
import { ATTR_SERVICE_NAME } from "@opentelemetry/semantic-conventions";
import { tracesUrl, type Tracing, type TracingOptions } from "./tracing.js";

const getter: TextMapGetter<(name: string) => string | null | undefined> = {
  get: (carrier, key) => carrier(key) ?? undefined,
  keys: () => ["traceparent", "tracestate"],
};
const setter: TextMapSetter<Record<string, string>> = {
  set: (carrier, key, value) => {
    carrier[key] = value;
  },
};

/** The SDK-backed tracer (`opts` names an exporter or an endpoint). */
export function createSdkTracing(opts: TracingOptions): Tracing {
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
