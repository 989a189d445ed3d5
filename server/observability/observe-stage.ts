import { ConnectError } from "@connectrpc/connect";
import { afterCall } from "../after-call.js";
import { answerAttempts, type AttemptRecord } from "../dispatch/attempt-record.js";
import { failedCallAccounting } from "../pipeline/dispatch-pipeline.js";
import type { CacheStatusName, CallMeta, EmbedCallResult, ModelCallResult, ModelPipeline, ModelStream, Stage } from "../pipeline/model-call.js";
import type { EmbedRequest, ModelChunk, ModelRequest, TokenUsage } from "../providers/model.js";
import { recordAfterThisTurn } from "../runtime/after-this-turn.js";
import { SpanKind, SpanStatusCode, type Span, type Tracing } from "./tracing.js";

/** What the response said, kept only for a sink that asked for bodies ({@link CallSink.wantsBody}). */
export interface ObservedResponse {
  text: string;
  toolCalls: Array<{ name: string; argumentsJson: string }>;
  /** Embeddings: how many vectors (the vectors themselves are never kept). */
  vectors?: number;
  /** The text was cut at the capture limit. */
  truncated: boolean;
}

/** One ended model call, as every sink sees it. */
export interface CallObservation {
  operation: "chat" | "embeddings";
  stream: boolean;
  meta: CallMeta;
  request: ModelRequest | EmbedRequest;
  /** Epoch ms when the call entered the pipeline. */
  startedAt: number;
  durationMs: number;
  /** Streams that produced content: from the call's start to its first content chunk. */
  timeToFirstTokenMs?: number;
  /** Provider and model that answered (the last attempt's when it failed; empty when none ran). */
  provider: string;
  model: string;
  /** Every attempt, failed ones included (a semantic lookup's embedding ones first; empty for an exact cache hit or a call refused before dispatch). */
  attempts: readonly AttemptRecord[];
  costMicrosUsd: bigint;
  /** How the cache took part; undefined when the call failed. */
  cacheStatus?: CacheStatusName;
  /** The answer's tokens (undefined when the call failed). */
  usage?: TokenUsage;
  /** Why the call failed; undefined on success. */
  error?: unknown;
  response?: ObservedResponse;
}

/** A consumer of call observations: metrics, the request log. Must not throw or block. */
export interface CallSink {
  /** Whether this call's response content should be captured for it (default no). */
  wantsBody?(meta: CallMeta): boolean;
  ended(o: CallObservation): void;
}

/** Dependencies of {@link createObserveStage}. */
export interface ObserveStageDeps {
  tracing: Tracing;
  sinks: readonly CallSink[];
}

/** Options of {@link createObserveStage}. */
export interface ObserveStageOptions {
  /** Most characters of response text captured for a sink that wants bodies (default 64 KiB). */
  maxCaptureChars?: number;
}

/**
 * The outermost pipeline stage: observes every model call of both front doors once — a span
 * (`chat <route>` / `embeddings <route>`, the parent of every state and provider-attempt span of
 * the call) and one {@link CallObservation} for the sinks at the call's end (streams: when the
 * stream ends, however it ends). It never changes a call, its result or its error, and captures
 * response content only for a sink that asks for it, up to a limit.
 */
export function createObserveStage(deps: ObserveStageDeps, opts: ObserveStageOptions = {}): Stage {
  const { tracing, sinks } = deps;
  const maxChars = opts.maxCaptureChars ?? 64 * 1024;
  const wantsBody = (meta: CallMeta) => sinks.some((s) => s.wantsBody?.(meta) === true);
  const emit = (o: CallObservation) => {
    for (const sink of sinks) {
      try {
        sink.ended(o);
      } catch {
        // A sink's fault must never fail the call it observes.
      }
    }
  };
  const openSpan = (operation: CallObservation["operation"], meta: CallMeta): Span | undefined =>
    tracing.enabled
      ? tracing.startSpan(`${operation} ${meta.route}`, {
          kind: SpanKind.INTERNAL,
          attributes: { "gen_ai.operation.name": operation, "switchboard.route": meta.route, "switchboard.verb": meta.verb, "switchboard.request_id": meta.requestId },
        })
      : undefined;
  const closeSpan = (span: Span | undefined, o: CallObservation) => {
    if (span === undefined) return;
    span.setAttributes({
      "switchboard.attempts": o.attempts.length,
      "switchboard.cost_micros_usd": Number(o.costMicrosUsd),
      ...(o.provider ? { "gen_ai.system": o.provider, "gen_ai.provider.name": o.provider } : {}),
      ...(o.model ? { "gen_ai.response.model": o.model } : {}),
      ...(o.cacheStatus ? { "switchboard.cache_status": o.cacheStatus } : {}),
      ...(o.usage ? { "gen_ai.usage.input_tokens": o.usage.inputTokens, "gen_ai.usage.output_tokens": o.usage.outputTokens } : {}),
      ...(o.timeToFirstTokenMs === undefined ? {} : { "switchboard.time_to_first_token_ms": o.timeToFirstTokenMs }),
    });
    if (o.error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: errorName(o.error) });
    span.end();
  };
  /**
   * A unary call's span closed and its observation emitted once its answer (or error) is written
   * (`afterThisTurn`): metrics, the request log and the span are not on the answer's path.
   */
  const observeAfterAnswer = (span: Span | undefined, o: CallObservation): void =>
    recordAfterThisTurn(() => {
      closeSpan(span, o);
      emit(o);
    });
  /** Runs `fn` with the call's span active, so spans started inside are its children. */
  const within = <T>(span: Span | undefined, fn: () => T): T => (span === undefined ? fn() : tracing.run(tracing.withSpan(tracing.active(), span), fn));

  const failed = (base: Omit<CallObservation, "provider" | "model" | "attempts" | "costMicrosUsd">, err: unknown): CallObservation => {
    const accounting = failedCallAccounting(err);
    const attempts = accounting?.attempts ?? [];
    const last = attempts.at(-1);
    return { ...base, provider: last?.provider ?? "", model: last?.model ?? "", attempts, costMicrosUsd: accounting?.costMicrosUsd ?? 0n, error: err };
  };

  /**
   * Observes one unary call: its span, then one observation when it returns or throws. A promise
   * chain rather than an `async` function: no suspended frame per call in flight (`afterCall`).
   */
  const unary = <R extends ModelCallResult | EmbedCallResult>(
    operation: CallObservation["operation"],
    call: { meta: CallMeta; request: ModelRequest | EmbedRequest },
    run: () => Promise<R>,
    captured: (result: R) => ObservedResponse,
  ): Promise<R> => {
    const startedAt = Date.now();
    const t0 = performance.now();
    const span = openSpan(operation, call.meta);
    return afterCall(
      // Without a span (tracing off) no wrapper closure, and the observation is one literal.
      () => (span === undefined ? run() : within(span, run)),
      (result) => {
        const o: CallObservation = {
          operation,
          stream: false,
          meta: call.meta,
          request: call.request,
          startedAt,
          durationMs: performance.now() - t0,
          provider: result.provider,
          model: result.model,
          attempts: result.attempts,
          costMicrosUsd: result.costMicrosUsd,
          cacheStatus: result.cacheStatus,
          usage: result.response.usage,
          ...(wantsBody(call.meta) ? { response: captured(result) } : {}),
        };
        observeAfterAnswer(span, o);
        return result;
      },
      (err: unknown) => {
        observeAfterAnswer(span, failed({ operation, stream: false, meta: call.meta, request: call.request, startedAt, durationMs: performance.now() - t0 }, err));
        throw err;
      },
    );
  };

  return (next: ModelPipeline): ModelPipeline => ({
    chat: (call) => unary("chat", call, () => next.chat(call), (r) => capture(r.response.text, r.response.toolCalls, maxChars)),
    chatStream(call) {
      const startedAt = Date.now();
      const t0 = performance.now();
      const span = openSpan("chat", call.meta);
      const base = { operation: "chat" as const, stream: true, meta: call.meta, request: call.request, startedAt };
      let stream: ModelStream;
      try {
        stream = within(span, () => next.chatStream(call));
      } catch (err) {
        const o = failed({ ...base, durationMs: performance.now() - t0 }, err);
        closeSpan(span, o);
        emit(o);
        throw err;
      }
      const keep = wantsBody(call.meta);
      const inner = stream.chunks[Symbol.asyncIterator]();
      const chunks = (async function* (): AsyncGenerator<ModelChunk> {
        let ttft: number | undefined;
        let failure: unknown;
        let text = "";
        const tools = new Map<number, { name: string; argumentsJson: string }>();
        try {
          for (;;) {
            const r = await within(span, () => inner.next());
            if (r.done) break;
            const c = r.value;
            if ((c.type === "text" || c.type === "tool_call") && ttft === undefined) ttft = performance.now() - t0;
            if (keep && c.type === "text" && text.length < maxChars + 1) text += c.text;
            if (keep && c.type === "tool_call") {
              const t = tools.get(c.index) ?? { name: "", argumentsJson: "" };
              tools.set(c.index, { name: t.name || (c.name ?? ""), argumentsJson: t.argumentsJson + c.argumentsDelta });
            }
            yield c;
          }
        } catch (err) {
          failure = err;
          throw err;
        } finally {
          // Ended, failed or stopped early (return()): close the inner stream so dispatch settles,
          // then report once its result is known — without waiting for it here, so a stage
          // whose result is late can never hold up the end of the caller's stream.
          await inner.return?.().catch(() => undefined);
          const timing = { durationMs: performance.now() - t0, ...(ttft === undefined ? {} : { timeToFirstTokenMs: ttft }) };
          const report = (settled: Awaited<ReturnType<ModelStream["result"]>> | undefined) => {
            let o: CallObservation;
            if (failure === undefined && settled !== undefined) {
              const usage = winnerUsage(settled.attempts);
              o = {
                ...base,
                ...timing,
                provider: settled.provider,
                model: settled.model,
                attempts: settled.attempts,
                costMicrosUsd: settled.costMicrosUsd,
                cacheStatus: settled.cacheStatus,
                ...(usage === undefined ? {} : { usage }),
                ...(keep ? { response: capture(text, [...tools.values()], maxChars) } : {}),
              };
            } else {
              o = failed({ ...base, ...timing }, failure ?? new Error("the stream ended without a result"));
              // A stream that failed after it started still reports every attempt it billed.
              if (settled !== undefined && o.attempts.length === 0) {
                o = { ...o, provider: settled.provider, model: settled.model, attempts: settled.attempts, costMicrosUsd: settled.costMicrosUsd };
              }
            }
            closeSpan(span, o);
            emit(o);
          };
          stream.result().then(report, () => report(undefined));
        }
      })();
      return { chunks, result: () => stream.result() };
    },
    embed: (call) => unary("embeddings", call, () => next.embed(call), (r) => ({ text: "", toolCalls: [], vectors: r.response.vectors.length, truncated: false })),
  });
}

function capture(text: string, toolCalls: ReadonlyArray<{ name: string; argumentsJson: string }>, maxChars: number): ObservedResponse {
  return {
    text: text.length > maxChars ? text.slice(0, maxChars) : text,
    toolCalls: toolCalls.map((t) => ({ name: t.name, argumentsJson: t.argumentsJson.slice(0, maxChars) })),
    truncated: text.length > maxChars,
  };
}

/** The winning attempt's tokens (a stream's answer): the last successful attempt at answering, if any. */
function winnerUsage(attempts: readonly AttemptRecord[]): TokenUsage | undefined {
  return answerAttempts(attempts).findLast((a) => a.outcome === "success")?.usage;
}

function errorName(err: unknown): string {
  return err instanceof ConnectError ? err.rawMessage : "internal error";
}
