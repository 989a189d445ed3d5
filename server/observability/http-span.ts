import { SpanKind, SpanStatusCode, type Tracing } from "./tracing.js";

/** The request facts an HTTP span reads. */
interface HttpRequestLike {
  method?: string | undefined;
  url?: string | undefined;
  headers: Record<string, string | string[] | undefined>;
}

/** The response facts an HTTP span reads. */
interface HttpResponseLike {
  readonly statusCode: number;
  once(event: "close", listener: () => void): unknown;
}

/**
 * Runs `handle` (a plain-HTTP front door: the OpenAI-compatible surface) inside a SERVER span
 * `POST /v1/chat/completions` that continues the caller's W3C `traceparent`, so its model calls
 * and provider attempts join the caller's trace as the RPCs' do. The span ends when the response
 * closes, with its status code. Tracing off: `handle` runs as is.
 */
export function traceHttp(tracing: Tracing, req: HttpRequestLike, res: HttpResponseLike, handle: () => unknown, routeOf: (path: string) => string | undefined = () => undefined): void {
  if (!tracing.enabled) {
    void handle();
    return;
  }
  const path = (req.url ?? "").split("?")[0] ?? "";
  const parent = tracing.extract((name) => {
    const v = req.headers[name];
    return Array.isArray(v) ? v[0] : v;
  });
  // Named by the route template, never the raw path (OpenTelemetry's HTTP conventions): a caller
  // trying URLs would otherwise make one span name per URL, an unknown one just the method.
  const method = req.method ?? "GET";
  const route = routeOf(path);
  const span = tracing.startSpan(route === undefined ? method : `${method} ${route}`, {
    kind: SpanKind.SERVER,
    parent,
    attributes: { "http.request.method": method, "url.path": path, ...(route === undefined ? {} : { "http.route": route }) },
  });
  res.once("close", () => {
    span.setAttribute("http.response.status_code", res.statusCode);
    if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  });
  tracing.run(tracing.withSpan(parent, span), () => void handle());
}
