import type { SseEvent } from "../http/sse-parser.js";
import { SseEventTooLargeError } from "../http/sse-parser.js";
import type { ModelChunk, ModelRequest, TokenUsage } from "../model.js";
import { ProviderError, withUsage } from "../provider-error.js";
import { usageSoFar } from "../usage-estimate.js";
import { classifyStreamError, streamError } from "./errors.js";
import { answerTextOfJson, STRUCTURED_OUTPUT_TOOL, structuredOutputOf } from "./structured-output.js";
import { answerFinishReason, estimateTokens, requestChars, toFinishReason, toTokenUsage } from "./usage.js";
import type { WireStreamEvent, WireUsage } from "./wire.js";

/** What {@link translateStream} needs besides the events. */
export interface StreamContext {
  req: ModelRequest;
  /** The `request-id` response header. */
  requestId?: string;
  /** The call's signal: once aborted, no further buffered event is translated. */
  signal: AbortSignal;
  /** Told the usage reported so far whenever an event reports it (`CallContext.reportUsage`). */
  reportUsage?: (usage: TokenUsage) => void;
}

type Block =
  | { kind: "text" }
  | { kind: "tool"; toolIndex: number; argumentChars: number }
  /** The structured-output tool: its input is the answer's text (buffered when the schema was wrapped). */
  | { kind: "answer"; wrapped: boolean; json: string }
  | { kind: "other" };

/**
 * Translates Anthropic's SSE sequence — `message_start`, then per content block
 * `content_block_start` / `content_block_delta`* / `content_block_stop`, then `message_delta`
 * (stop reason, cumulative usage) and `message_stop`, with `ping`s anywhere — into neutral chunks:
 * `start`, text and tool-call pieces, then `finish` and `usage` at `message_stop`. Extended
 * thinking (`thinking` and `redacted_thinking` blocks, `thinking_delta` and `signature_delta`) is
 * never answer text: it is skipped, its characters counted only toward an estimated output. The
 * structured-output tool's `input_json_delta`s are text pieces (`structured-output.ts`).
 *
 * A tool call's `index` is its position among the `tool_use` blocks, not the content block index.
 * An `event: error` throws its classification (`overloaded_error` → overloaded); a stream that
 * ends before `message_stop`, or carries an unparseable or out-of-order event, throws
 * `stream_error` (a connection dropped mid-body is such a cut). Unknown event and delta types are
 * skipped, as Anthropic's versioning policy asks. Without reported output usage the counts are
 * estimated from the characters (see `estimateTokens`) and marked so.
 */
export async function* translateStream(events: AsyncIterable<SseEvent>, ctx: StreamContext): AsyncGenerator<ModelChunk> {
  const blocks = new Map<number, Block>();
  const structured = structuredOutputOf(ctx.req);
  let answered = false;
  let started = false;
  let stopped = false;
  let toolCount = 0;
  let stopReason: string | null | undefined;
  let outputChars = 0;
  let usage: WireUsage | undefined;
  let outputReported = false;
  const report = (): void => {
    const reported = reportedUsage(usage, outputReported);
    if (reported !== undefined) ctx.reportUsage?.(reported);
  };

  try {
    for await (const sse of events) {
      if (ctx.signal.aborted) throw new ProviderError("cancelled", "the call was cancelled");
      if (stopped) continue; // drain, so the connection can be reused
      if (sse.event === "error") throw classifyStreamError(sse.data);
      const event = parseEvent(sse);
      switch (event.type) {
        case "ping":
          break;
        case "error":
          throw classifyStreamError(sse.data);
        case "message_start": {
          if (started) throw streamError("a second message_start");
          started = true;
          const message = event.message ?? {};
          if (message.usage != null) {
            usage = { ...message.usage };
            report();
          }
          const providerRequestId = ctx.requestId ?? message.id;
          yield { type: "start", model: message.model ?? ctx.req.model, ...(providerRequestId === undefined ? {} : { providerRequestId }) };
          break;
        }
        case "content_block_start": {
          requireStarted(started, event.type);
          const block = event.content_block;
          if (block?.type === "text") {
            blocks.set(event.index, { kind: "text" });
            if (typeof block.text === "string" && block.text !== "") {
              outputChars += block.text.length;
              yield { type: "text", text: block.text };
            }
          } else if (structured !== undefined && block?.type === "tool_use" && block.name === STRUCTURED_OUTPUT_TOOL) {
            // The first such call is the answer; a second one is dropped, as in the unary answer.
            blocks.set(event.index, answered ? { kind: "other" } : { kind: "answer", wrapped: structured.wrapped, json: "" });
            answered = true;
          } else if (block?.type === "tool_use" && typeof block.id === "string" && typeof block.name === "string") {
            const toolIndex = toolCount++;
            blocks.set(event.index, { kind: "tool", toolIndex, argumentChars: 0 });
            yield { type: "tool_call", index: toolIndex, id: block.id, name: block.name, argumentsDelta: "" };
          } else {
            blocks.set(event.index, { kind: "other" });
          }
          break;
        }
        case "content_block_delta": {
          requireStarted(started, event.type);
          const block = blocks.get(event.index);
          if (block === undefined) throw streamError("a delta for a content block that never started");
          const delta = event.delta ?? { type: "" };
          if (block.kind === "text" && delta.type === "text_delta" && typeof delta.text === "string") {
            outputChars += delta.text.length;
            if (delta.text !== "") yield { type: "text", text: delta.text };
          } else if (block.kind === "tool" && delta.type === "input_json_delta" && typeof delta.partial_json === "string") {
            outputChars += delta.partial_json.length;
            block.argumentChars += delta.partial_json.length;
            if (delta.partial_json !== "") yield { type: "tool_call", index: block.toolIndex, argumentsDelta: delta.partial_json };
          } else if (delta.type === "thinking_delta" && typeof delta.thinking === "string") {
            // Reasoning is never answer text; it is output all the same, so a cut stream's estimate counts it.
            outputChars += delta.thinking.length;
          } else if (block.kind === "answer" && delta.type === "input_json_delta" && typeof delta.partial_json === "string") {
            outputChars += delta.partial_json.length;
            block.json += delta.partial_json;
            if (!block.wrapped && delta.partial_json !== "") yield { type: "text", text: delta.partial_json };
          }
          break;
        }
        case "content_block_stop": {
          requireStarted(started, event.type);
          const block = blocks.get(event.index);
          // A call without arguments streams none; say "{}" as the unary answer's input does.
          if (block?.kind === "tool" && block.argumentChars === 0) yield { type: "tool_call", index: block.toolIndex, argumentsDelta: "{}" };
          if (block?.kind === "answer") {
            const text = block.wrapped ? answerTextOfJson(block.json) : block.json === "" ? "{}" : "";
            if (text !== "") yield { type: "text", text };
          }
          break;
        }
        case "message_delta": {
          requireStarted(started, event.type);
          if (event.delta?.stop_reason != null) stopReason = event.delta.stop_reason;
          if (event.usage != null) {
            usage = mergeUsage(usage, event.usage);
            if (typeof event.usage.output_tokens === "number") outputReported = true;
            report();
          }
          break;
        }
        case "message_stop": {
          requireStarted(started, event.type);
          stopped = true;
          yield { type: "finish", reason: answerFinishReason(toFinishReason(stopReason), answered, toolCount) };
          yield { type: "usage", usage: finalUsage(usage, outputReported, outputChars, ctx.req) };
          break;
        }
        default:
          break;
      }
    }
  } catch (err) {
    // An oversized event, or the body breaking off mid-answer: a cut stream, not a failed connection attempt.
    const failure =
      err instanceof SseEventTooLargeError
        ? streamError("an event larger than the limit", err)
        : err instanceof ProviderError && err.kind === "connection"
          ? streamError("the connection closed before message_stop", err)
          : err;
    throw failure instanceof ProviderError ? withReportedUsage(failure, usage, outputReported, outputChars) : failure;
  }
  if (!stopped) throw withReportedUsage(streamError("the stream ended before message_stop"), usage, outputReported, outputChars);
}

/**
 * `err` carrying what the stream consumed when `message_start` reported the prompt's tokens (cache
 * reads and writes included; `usageSoFar`); else `err` as it is (the caller estimates).
 */
function withReportedUsage(err: ProviderError, usage: WireUsage | undefined, outputReported: boolean, outputChars: number): ProviderError {
  const reported = reportedUsage(usage, outputReported);
  return reported === undefined ? err : withUsage(err, usageSoFar(reported, outputChars));
}

/**
 * The usage reported so far once the prompt's tokens are known; the output only once a
 * `message_delta` counted it (`message_start`'s is a placeholder), else 0.
 */
function reportedUsage(usage: WireUsage | undefined, outputReported: boolean): TokenUsage | undefined {
  if (usage === undefined || typeof usage.input_tokens !== "number") return undefined;
  return toTokenUsage(outputReported ? usage : { ...usage, output_tokens: 0 });
}

function parseEvent(sse: SseEvent): WireStreamEvent {
  let value: unknown;
  try {
    value = JSON.parse(sse.data);
  } catch (err) {
    throw streamError("an event that is not JSON", err);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw streamError("an event that is not a JSON object");
  const event = value as { type?: unknown };
  if (typeof event.type !== "string") {
    // Every documented event repeats its name in `type`; accept the SSE name when it does not.
    return { ...(value as object), type: sse.event } as WireStreamEvent;
  }
  return value as WireStreamEvent;
}

function requireStarted(started: boolean, type: string): void {
  if (!started) throw streamError(`${type} before message_start`);
}

/** `message_delta` usage is cumulative: each reported count replaces the earlier one. */
function mergeUsage(prev: WireUsage | undefined, next: WireUsage): WireUsage {
  const out: WireUsage = { ...prev };
  for (const key of ["input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "output_tokens_details"] as const) {
    if (next[key] != null) (out as Record<string, unknown>)[key] = next[key];
  }
  return out;
}

function finalUsage(usage: WireUsage | undefined, outputReported: boolean, outputChars: number, req: ModelRequest): TokenUsage {
  if (usage !== undefined && outputReported) return toTokenUsage(usage);
  const inputReported = usage !== undefined && typeof usage.input_tokens === "number";
  const base: WireUsage = inputReported ? { ...usage } : { input_tokens: estimateTokens(requestChars(req)) };
  return { ...toTokenUsage({ ...base, output_tokens: estimateTokens(outputChars) }), estimated: true };
}
