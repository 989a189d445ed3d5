import type { Metrics } from "./metrics.js";
import type { Readiness } from "./readiness.js";

/** Dependencies of {@link createObservabilityEndpoints}. */
export interface ObservabilityEndpointsDeps {
  metrics: Metrics;
  readiness: Readiness;
  /** Called when rendering the metrics fails (a collect callback threw). */
  onError?: (err: unknown) => void;
}

/** The request facts the endpoints read. */
type Req = { url?: string | undefined; method?: string | undefined };
/** The response calls the endpoints make (Node's HTTP/1.1 and HTTP/2 responses both have them). */
type Res = { writeHead(status: number, headers: Record<string, string>): unknown; end(data: string): unknown; end(): unknown };

/**
 * The plain-HTTP endpoints beside the RPCs: `GET /metrics` (Prometheus text format),
 * `GET /healthz` (liveness: 200 while the process serves HTTP at all) and `GET /readyz`
 * (readiness: 200 `ready` or `degraded` with each dependency's verdict, 503 `draining` once
 * shutdown began). Returns false for any other request, for the next handler.
 */
export function createObservabilityEndpoints(deps: ObservabilityEndpointsDeps): (req: Req, res: Res) => boolean {
  return (req, res) => {
    const path = (req.url ?? "").split("?")[0];
    if (path !== "/metrics" && path !== "/healthz" && path !== "/readyz") return false;
    if (req.method !== "GET" && req.method !== "HEAD") {
      send(res, 405, "application/json", JSON.stringify({ code: "method_not_allowed", message: `${path} answers GET` }), req.method);
      return true;
    }
    if (path === "/healthz") {
      send(res, 200, "application/json", JSON.stringify({ status: "alive" }), req.method);
    } else if (path === "/readyz") {
      const report = deps.readiness.report();
      send(res, report.status === "draining" ? 503 : 200, "application/json", JSON.stringify(report), req.method);
    } else {
      deps.metrics.render().then(
        (text) => send(res, 200, deps.metrics.contentType, text, req.method),
        (err: unknown) => {
          deps.onError?.(err);
          send(res, 500, "application/json", JSON.stringify({ code: "internal", message: "metrics could not be rendered" }), req.method);
        },
      );
    }
    return true;
  };
}

function send(res: Res, status: number, contentType: string, body: string, method: string | undefined): void {
  res.writeHead(status, { "content-type": contentType, "cache-control": "no-store" });
  if (method === "HEAD") res.end();
  else res.end(body);
}
