import type { AttemptObserver } from "../dispatch/attempt-record.js";
import type { CallMeta } from "../pipeline/model-call.js";
import { SpanKind, SpanStatusCode, type Tracing } from "./tracing.js";

/**
 * The dispatch hook that gives every provider attempt a CLIENT span — `chat gpt-4o-mini`, a child
 * of the model call's span — with the GenAI semantic-convention attributes (`gen_ai.system`,
 * `gen_ai.operation.name`, `gen_ai.request.model`, `gen_ai.response.model`,
 * `gen_ai.usage.input_tokens`, `gen_ai.usage.output_tokens`) and the attempt's outcome, and
 * sends the span's W3C trace context to the provider (`traceparent`), so the provider's own trace
 * of the call joins the caller's. Undefined when tracing is off: dispatch then does nothing extra.
 */
export function createAttemptSpans(tracing: Tracing): ((meta: CallMeta, operation: "chat" | "embeddings") => AttemptObserver | undefined) | undefined {
  if (!tracing.enabled) return undefined;
  return (meta, operation) => {
    // The model call's context, captured when the call reaches dispatch: hedged twins and
    // retries started later from timers still hang under it.
    const parent = tracing.active();
    return {
      started(start) {
        const span = tracing.startSpan(`${operation} ${start.model}`, {
          kind: SpanKind.CLIENT,
          parent,
          attributes: {
            "gen_ai.operation.name": operation,
            "gen_ai.system": start.provider,
            "gen_ai.provider.name": start.provider,
            "gen_ai.request.model": start.model,
            "switchboard.route": meta.route,
            "switchboard.attempt.index": start.index,
            "switchboard.attempt.target_index": start.targetIndex,
            "switchboard.attempt.hedged": start.hedged,
          },
        });
        return {
          headers: tracing.inject(tracing.withSpan(parent, span)),
          ended(record) {
            span.setAttributes({
              "switchboard.attempt.outcome": record.outcome,
              "gen_ai.usage.input_tokens": record.usage.inputTokens,
              "gen_ai.usage.output_tokens": record.usage.outputTokens,
              ...(record.outcome === "success" ? { "gen_ai.response.model": record.model } : {}),
              ...(record.httpStatus === undefined ? {} : { "http.response.status_code": record.httpStatus }),
              ...(record.timeToFirstTokenMs === undefined ? {} : { "switchboard.attempt.time_to_first_token_ms": record.timeToFirstTokenMs }),
            });
            if (record.outcome !== "success") {
              span.setAttribute("error.type", record.outcome);
              span.setStatus({ code: SpanStatusCode.ERROR, ...(record.error === undefined ? {} : { message: record.error }) });
            }
            span.end();
          },
        };
      },
    };
  };
}
