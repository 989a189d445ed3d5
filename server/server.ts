import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ConnectRouter, Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { Health } from "../gen/ts/grpc/health/v1/health_pb.js";
import { ServerReflection } from "../gen/ts/grpc/reflection/v1/reflection_pb.js";
import { createErrorsInterceptor } from "./interceptors/errors.js";
import { createTelemetryInterceptor } from "./interceptors/telemetry.js";
import { createValidateInterceptor } from "./interceptors/validate.js";
import type { Logger } from "./observability/logger.js";
import { REFLECTED_FILES, SWITCHBOARD_SERVICES } from "./schema.js";
import { createHealthService, createHealthStatus, type HealthStatus } from "./services/health.js";
import { createReflectionService } from "./services/reflection.js";

/** What the server is built from. `main.ts` builds these; tests build their own. */
export interface ServerDeps {
  logger: Logger;
}

/** Options of {@link createServer}. */
export interface ServerOptions {
  /** Largest request message accepted, in bytes. */
  maxRequestBytes: number;
}

/** A Node request handler for both HTTP/1.1 and HTTP/2 requests. */
export type RequestHandler = (
  req: IncomingMessage | Http2ServerRequest,
  res: ServerResponse | Http2ServerResponse,
) => void;

/** The composed gateway: one handler for every protocol and the health status it reports. */
export interface Server {
  handler: RequestHandler;
  health: HealthStatus;
}

/**
 * Composes the gateway. This is the one place that orders the RPC interceptors (and, as later
 * issues land, the model pipeline): reading this function tells what every request goes through.
 */
export function createServer(deps: ServerDeps, opts: ServerOptions): Server {
  const interceptors: Interceptor[] = [
    // 1. Outermost: anything that is not a ConnectError leaves as Internal, its cause logged.
    createErrorsInterceptor(deps),
    // 2. Request id and exactly one access-log line per RPC (at stream end for streams).
    createTelemetryInterceptor(deps),
    // 3. protovalidate rules from the schema: InvalidArgument naming each offending field.
    createValidateInterceptor({ files: REFLECTED_FILES }),
  ];
  const health = createHealthStatus({ services: SWITCHBOARD_SERVICES.map((s) => s.typeName) });
  const routes = (router: ConnectRouter) => {
    router.service(Health, createHealthService({ status: health }));
    router.service(ServerReflection, createReflectionService(REFLECTED_FILES));
    // Services whose issues have not landed answer Unimplemented for every method.
    for (const service of SWITCHBOARD_SERVICES) router.service(service, {});
  };
  const handler = connectNodeAdapter({
    routes,
    interceptors,
    readMaxBytes: opts.maxRequestBytes,
    fallback: (_req, res) => {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ code: "not_found", message: "no such route" }));
    },
  });
  return { handler, health };
}
