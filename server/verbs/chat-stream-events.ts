import { Code, ConnectError } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import {
  BudgetExceededSchema,
  GuardrailViolationSchema,
  type BudgetExceeded,
  type GuardrailViolation,
} from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { streamCutOf, type StreamCut } from "../dispatch/stream-cut.js";
import { connectCodeOf } from "../errors/provider-error-to-connect.js";
import type { CacheStatusName, ModelFinishReason, TokenUsage } from "../providers/model.js";
import { ProviderError } from "../providers/provider-error.js";
import type { VerbUsage } from "./verb-usage.js";

/**
 * One event of a ChatStream, in the order the proto's `ChatStreamResponse` promises: `started`,
 * then deltas, then exactly one terminal event.
 */
export type ChatStreamEvent =
  /** First event: the stream has content (or ended cleanly) and who serves it. */
  | { type: "started"; requestId: string; model: string; providerRequestId?: string; provider: string; cacheStatus: CacheStatusName }
  | { type: "text"; text: string }
  /** A piece of a tool call; concatenate `argumentsDelta` per `index`. */
  | { type: "tool_call"; index: number; id?: string; name?: string; argumentsDelta: string }
  /** Terminal: the model finished. */
  | { type: "completed"; finishReason: ModelFinishReason; usage: VerbUsage }
  /** Terminal: the gateway cut the stream (deadline, idle timeout, or an output guardrail). */
  | { type: "truncated"; reason: StreamCut | "guardrail"; guardrail?: GuardrailViolation; usage: VerbUsage }
  /** Terminal: the provider failed after content; `code` is the canonical Connect code name. */
  | { type: "upstream_error"; code: string; message: string; usage: VerbUsage }
  /** Terminal: a budget ran out while the stream ran. */
  | { type: "budget_exhausted"; budget?: BudgetExceeded; usage: VerbUsage };

/** The terminal event types. */
export type ChatStreamTerminal = Extract<ChatStreamEvent, { type: "completed" | "truncated" | "upstream_error" | "budget_exhausted" }>;

/** Tokens a failure reports as consumed: its own, or its `ProviderError` cause's. */
export function failureUsage(err: unknown): TokenUsage | undefined {
  if (err instanceof ProviderError) return err.usage;
  if (err instanceof ConnectError && err.cause instanceof ProviderError) return err.cause.usage;
  return undefined;
}

/**
 * The terminal event of a stream that failed after content reached the caller. Dispatch having
 * cut it (`streamCutOf`: its idle timer, or its deadline — the route's timeout included) is
 * `truncated` with that reason; else the caller's deadline having passed means the gateway cut it
 * (`truncated`, deadline: whatever failed then, the deadline is why); a budget refusal carrying its
 * `BudgetExceeded` detail is `budget_exhausted`; an output guardrail's refusal carrying its
 * `GuardrailViolation` is `truncated` (guardrail); anything else is `upstream_error` with the
 * error's canonical code and caller-safe message (an unknown throw says only "internal error").
 */
export function failureTerminal(err: unknown, deadlinePassed: boolean, usage: VerbUsage): ChatStreamTerminal {
  const cut = streamCutOf(err) ?? (deadlinePassed ? "deadline" : undefined);
  if (cut !== undefined) return { type: "truncated", reason: cut, usage };
  if (err instanceof ConnectError) {
    if (err.code === Code.ResourceExhausted) {
      const budget = err.findDetails(BudgetExceededSchema)[0];
      if (budget !== undefined) return { type: "budget_exhausted", budget, usage };
    }
    if (err.code === Code.PermissionDenied) {
      const guardrail = err.findDetails(GuardrailViolationSchema)[0];
      if (guardrail !== undefined) return { type: "truncated", reason: "guardrail", guardrail, usage };
    }
    return { type: "upstream_error", code: codeToString(err.code), message: err.rawMessage, usage };
  }
  if (err instanceof ProviderError) return { type: "upstream_error", code: codeToString(connectCodeOf(err.kind)), message: err.message, usage };
  return { type: "upstream_error", code: codeToString(Code.Internal), message: "internal error", usage };
}
