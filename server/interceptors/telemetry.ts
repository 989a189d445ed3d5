import { randomUUID } from "node:crypto";
import type { DescMethod } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { CapabilityService } from "../../gen/ts/switchboard/v1/capability_service_pb.js";
import { afterCall } from "../after-call.js";
import { accessLogFields } from "../observability/access-log.js";
import { writeAccessLine } from "../observability/access-line.js";
import { codeName, outcomeCode } from "../observability/code-name.js";
import type { Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";
import { SpanKind, SpanStatusCode, type Context, type Span, type Tracing } from "../observability/tracing.js";
import { recordAfterThisTurn } from "../runtime/after-this-turn.js";
import { kCallSummary, kPrincipal, kRequestId } from "./context-keys.js";

export { codeName };

/** Dependencies of {@link createTelemetryInterceptor}; metrics and tracing are optional. */
export interface TelemetryInterceptorDeps {
  logger: Logger;
  /** RPC counters and latency histograms (`/metrics`). */
  metrics?: Metrics;
  /** A span per RPC, continuing the caller's `traceparent`. */
  tracing?: Tracing;
}

/** A caller-supplied request id is kept only if it is short and plain (no log injection). */
const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Gives every RPC a request id (the caller's `x-request-id` when it is well-formed, else a new
 * UUID), returns it in the `x-request-id` response header, and when the RPC ends — for streams,
 * when the stream ends — writes exactly one access-log line, counts the RPC in the metrics and
 * ends its span. The line holds the procedure, protocol, canonical code, duration, message count,
 * the caller's org/team/key ids and, for CapabilityService, what the call summary says (route,
 * provider, model, tokens, cost, cache status, attempts, time to first token); never bodies or
 * headers, so no secret reaches it. With tracing on, the RPC runs inside a SERVER span that
 * continues the caller's W3C trace context, and its trace id is on the log line.
 */
export function createTelemetryInterceptor(deps: TelemetryInterceptorDeps): Interceptor {
  const tracing = deps.tracing?.enabled ? deps.tracing : undefined;
  // What a call's log line and metrics say of its method, worked out once per method.
  const names = new WeakMap<DescMethod, { procedure: string; verb: string | undefined }>();
  const namesOf = (service: string, method: DescMethod) => {
    let n = names.get(method);
    if (n === undefined) {
      n = { procedure: `${service}/${method.name}`, verb: service === CapabilityService.typeName ? snake(method.name) : undefined };
      names.set(method, n);
    }
    return n;
  };
  return (next) => (req) => {
    const started = performance.now();
    const supplied = req.header.get("x-request-id");
    const requestId = supplied !== null && REQUEST_ID_PATTERN.test(supplied) ? supplied : randomUUID();
    req.contextValues.set(kRequestId, requestId);
    const service = req.service.typeName;
    const method = req.method.name;
    const { procedure, verb } = namesOf(service, req.method);
    const protocol = protocolOf(req.header.get("content-type"));

    let span: Span | undefined;
    let spanCtx: Context | undefined;
    if (tracing) {
      const parent = tracing.extract((name) => req.header.get(name));
      span = tracing.startSpan(procedure, {
        kind: SpanKind.SERVER,
        parent,
        attributes: {
          "rpc.system": protocol === "connect" ? "connect_rpc" : "grpc",
          "rpc.service": service,
          "rpc.method": method,
          "switchboard.request_id": requestId,
        },
      });
      spanCtx = tracing.withSpan(parent, span);
    }
    // Without tracing, nothing to run inside: no wrapper closure per call.
    const within = tracing && spanCtx ? <T>(fn: () => T): T => tracing.run(spanCtx, fn) : undefined;

    /** The RPC's line, metrics and span, with its duration up to its end. */
    const record = (err: unknown, messagesOut: number, durationMs: number) => {
      const code = outcomeCode(err);
      const principal = req.contextValues.get(kPrincipal);
      const summary = req.contextValues.get(kCallSummary);
      const ttftMs = summary?.firstTokenAt === undefined ? undefined : summary.firstTokenAt - started;
      const traceId = span?.spanContext().traceId;
      const fields = accessLogFields({
        requestId,
        procedure,
        protocol,
        code,
        durationMs,
        messagesOut,
        ...(verb === undefined ? {} : { verb }),
        ...(principal === undefined ? {} : { principal }),
        ...(summary === undefined ? {} : { summary }),
        ...(ttftMs === undefined ? {} : { timeToFirstTokenMs: ttftMs }),
        ...(err === undefined ? {} : { error: err }),
        ...(traceId === undefined ? {} : { traceId }),
      });
      const fault = err !== undefined && !(err instanceof ConnectError && isCallerError(err.code));
      writeAccessLine(deps.logger, fault ? "warn" : "info", fields, "rpc");
      deps.metrics?.rpcEnded({
        service,
        method,
        code,
        seconds: durationMs / 1000,
        ...(summary === undefined ? {} : { route: summary.route }),
        ...(ttftMs === undefined ? {} : { timeToFirstTokenSeconds: ttftMs / 1000 }),
      });
      if (span !== undefined) {
        span.setAttributes({
          "rpc.grpc.status_code": err === undefined ? 0 : err instanceof ConnectError ? err.code : Code.Internal,
          ...(principal === undefined ? {} : { "switchboard.org_id": principal.orgId, "switchboard.team_id": principal.teamId, "switchboard.key_id": principal.keyId }),
          ...(summary === undefined
            ? {}
            : {
                "switchboard.route": summary.route,
                "switchboard.cost_micros_usd": Number(summary.costMicrosUsd),
                "switchboard.cache_status": summary.cacheStatus,
                "gen_ai.usage.input_tokens": summary.inputTokens,
                "gen_ai.usage.output_tokens": summary.outputTokens,
              }),
        });
        if (fault) span.setStatus({ code: SpanStatusCode.ERROR, message: code });
        span.end();
      }
    };
    /**
     * Records the RPC once its answer (or a stream's end) is written, on the same turn
     * (`afterThisTurn`): the line, metrics and span are not on the answer's path.
     */
    const end = (err: unknown, messagesOut: number) => {
      const durationMs = performance.now() - started;
      recordAfterThisTurn(() => record(err, messagesOut, durationMs));
    };

    // A promise chain, not an `async` function: no suspended frame per call in flight (`afterCall`).
    return afterCall(
      () => (within === undefined ? next(req) : within(() => next(req))),
      (res) => {
        res.header.set("x-request-id", requestId);
        if (!res.stream) {
          end(undefined, 1);
          return res;
        }
        return { ...res, message: counted(res.message, within, end, req.signal) };
      },
      (err: unknown) => {
        end(err, 0);
        throw err;
      },
    );
  };
}

/**
 * A stream's messages, counted; `end` is told once it ends however it ends. Each pull runs
 * `within` the RPC's trace context (the handler's generator body runs there).
 */
async function* counted<T>(
  messages: AsyncIterable<T>,
  within: (<R>(fn: () => R) => R) | undefined,
  end: (err: unknown, messagesOut: number) => void,
  signal: AbortSignal,
): AsyncGenerator<T> {
  const inner = messages[Symbol.asyncIterator]();
  let count = 0;
  let failure: unknown;
  let done = false;
  try {
    for (;;) {
      const r = await (within === undefined ? inner.next() : within(() => inner.next()));
      if (r.done) {
        done = true;
        break;
      }
      count++;
      yield r.value;
    }
  } catch (err) {
    done = true;
    failure = err;
    throw err;
  } finally {
    if (!done) await (within === undefined ? inner.return?.(undefined) : within(() => inner.return?.(undefined)))?.catch(() => undefined);
    // A caller that goes away mid-stream ends the generator without an error: Canceled.
    end(failure ?? (signal.aborted ? new ConnectError("canceled", Code.Canceled) : undefined), count);
  }
}

function protocolOf(contentType: string | null): string {
  if (contentType?.startsWith("application/grpc-web")) return "grpc-web";
  if (contentType?.startsWith("application/grpc")) return "grpc";
  return "connect";
}

/** `ChatStream` → `chat_stream`. */
function snake(name: string): string {
  return name.replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}

/** Codes that describe the caller's request rather than a fault of ours: logged at info. */
const CALLER_ERRORS: ReadonlySet<Code> = new Set([
  Code.InvalidArgument,
  Code.NotFound,
  Code.AlreadyExists,
  Code.PermissionDenied,
  Code.Unauthenticated,
  Code.FailedPrecondition,
  Code.ResourceExhausted,
  Code.Canceled,
  Code.Unimplemented,
]);

function isCallerError(code: Code): boolean {
  return CALLER_ERRORS.has(code);
}
