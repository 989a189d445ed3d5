import type { AttemptRecord } from "../dispatch/attempt-record.js";
import type { Placeholders } from "../guardrails/placeholders.js";
import type { RateStanding } from "../limits/rate-standing.js";
import type { CacheStatusName, EmbedRequest, EmbedResponse, ModelChunk, ModelRequest, ModelResponse, TokenUsage } from "../providers/model.js";

/** The verb a model call serves; usage, templates and reports group by it. */
export type VerbName = "summarize" | "classify" | "extract" | "answer" | "chat" | "embed";

/** How a call may use the response cache (the proto's CacheMode, provider-neutral). */
export type CacheModeName = "default" | "bypass" | "no_store" | "refresh";

export type { CacheStatusName };

/**
 * Everything about one call that is not the model request itself: who asks, for what, under which
 * limits. Verbs build one per model call (a map-reduce Summarize makes several); every pipeline
 * stage reads it, none mutates it.
 */
export interface CallMeta {
  verb: VerbName;
  /** Route alias (resolved to targets by dispatch). */
  route: string;
  /** The gateway's request id (one per RPC; every call of the RPC shares it). */
  requestId: string;
  /** Aborted when the caller goes away or the RPC's deadline passes. */
  signal: AbortSignal;
  /** Epoch ms by which every attempt must be done. */
  deadline: number;
  /** Cost-attribution tags (the request's, merged with the key's). */
  tags: Readonly<Record<string, string>>;
  cache: { mode: CacheModeName; maxAgeMs?: number };
  /** Prompt template that shaped the request (name and version), for usage records. */
  template?: { name: string; version: number };
  /** Indexes of the request's messages whose text came from users (guardrails inspect these). */
  userContentMessages?: readonly number[];
  /** Who pays: the calling key's tenancy (absent only in tests of stages that ignore it). */
  caller?: CallerRef;
  /** Filled by the rate-limit stages when present: where the call stands against its limits (the OpenAI surface's `x-ratelimit-*`). */
  rateStanding?: RateStanding;
  /**
   * The calling key's `allowed_models` (absent or empty: any model its routes reach). Dispatch
   * considers only the route's targets whose model is in it (fallbacks and hedges too), and the
   * response cache, shared across the org, serves no answer another model produced.
   */
  allowedModels?: readonly string[];
  /**
   * Set by a verb that checks the model's output against its contract (Extract, Classify, Answer):
   * whether an answer is one it can use. One it rejects (and repairs, or fails on) is not stored in
   * the response cache, so a repeat asks the model again instead of replaying the rejected output
   * for the route's TTL. Absent: every complete answer is storable.
   */
  acceptsAnswer?: (response: ModelResponse) => boolean;
}

/** The tenancy of the key a call is made with: what budgets, limits and usage rows key on. */
export interface CallerRef {
  orgId: string;
  teamId: string;
  keyId: string;
}

/** A chat call through the model pipeline. */
export interface ModelCall {
  meta: CallMeta;
  /** The neutral request; its `model` is ignored (each route target has its own). */
  request: ModelRequest;
  /** See {@link Admitted}. */
  admitted?: Admitted;
  /** See {@link CoverRetry}. */
  coverRetry?: CoverRetry;
  /**
   * Set by the budget stage on a stream nothing caps: told each usage report the provider makes
   * before the stream ends (`DispatchOptions.reportUsage`), so the stream's hold follows the
   * provider's own count of its output, hidden reasoning included. Stages pass it on.
   */
  reportUsage?: (usage: TokenUsage) => void;
  /**
   * Set by the budget stage: the instant of the call's reservation, whose budget periods its spend
   * is booked in. The usage stage stamps the call's records with it, so the ledger puts a call that
   * runs across a period's end in the same period as the budget's counters. Stages pass it on.
   */
  bookedAt?: Date;
  /**
   * Set by the input guardrail stage: the call's placeholder registry, so the output stage masks
   * answers with the same one (one value, one placeholder across the call: an answer's masked
   * value never takes a number the input's restorable placeholders use). Stages pass it on.
   */
  placeholders?: Placeholders;
}

/** An embeddings call through the model pipeline. */
export interface EmbedCall {
  meta: CallMeta;
  request: EmbedRequest;
  /** See {@link Admitted}. */
  admitted?: Admitted;
  /** See {@link CoverRetry}. */
  coverRetry?: CoverRetry;
  /** See {@link ModelCall.bookedAt}. */
  bookedAt?: Date;
}

/**
 * A check an outer stage started and did not wait for, so that the stages inside could start
 * their own shared-state round trips in the same write (`rate-limit-stage.ts`, `waitAt:
 * "dispatch"`). It rejects with the call's refusal. Dispatch waits for it before anything is
 * sent; a stage in between that holds something (a budget reservation) gives it back when the
 * call fails, as for any failure before dispatch. Stages pass it on with the call.
 */
export type Admitted = Promise<unknown>;

/**
 * Set by a stage that holds money for the call (the budget stage): asked by dispatch before each
 * attempt that follows a failure, with what every attempt so far was billed in micro-USD (a
 * timed-out attempt is billed at its input's estimate). Resolves whether the call may spend on
 * another attempt; false stops the retries and fallbacks, and the call fails with the last
 * failure. Never rejects. Stages pass it on with the call.
 */
export type CoverRetry = (billedMicros: bigint) => Promise<boolean>;

/** What a completed chat call returns to its verb. */
export interface ModelCallResult {
  response: ModelResponse;
  /** Provider kind and model that answered (from the winning attempt, or the cache). */
  provider: string;
  model: string;
  /**
   * Every attempt, failed ones included (empty for an exact cache hit). A semantic lookup's
   * embedding attempts come first, marked `semanticLookup` (the only ones of a semantic hit).
   */
  attempts: readonly AttemptRecord[];
  /** Cost of every attempt, in micro-USD (0 for an exact cache hit). */
  costMicrosUsd: bigint;
  cacheStatus: CacheStatusName;
}

/** What a completed embeddings call returns. */
export interface EmbedCallResult {
  response: EmbedResponse;
  provider: string;
  model: string;
  attempts: readonly AttemptRecord[];
  costMicrosUsd: bigint;
  cacheStatus: CacheStatusName;
}

/** What a stream's `result()` resolves with: the call's result without the (streamed) response. */
export type ModelStreamResult = Omit<ModelCallResult, "response">;

/**
 * The result of a stream that ended before anything was sent (refused by a stage, or its check
 * failed): no attempt, nothing billed.
 */
export const UNSENT_STREAM_RESULT: ModelStreamResult = Object.freeze({ provider: "", model: "", attempts: Object.freeze([]), costMicrosUsd: 0n, cacheStatus: "bypass" });

/**
 * A streamed chat call. `chunks` follows the ModelChunk contract (content, then one finish and
 * one usage) or throws; `result()` resolves once the stream has ended either way, with every
 * attempt and the cost billed.
 */
export interface ModelStream {
  chunks: AsyncIterable<ModelChunk>;
  result(): Promise<ModelStreamResult>;
}

/**
 * The model pipeline: what verbs and the OpenAI surface call. `server/server.ts` composes it once
 * from stages (rate limit → guardrails in → cache → budget → dispatch, and back).
 */
export interface ModelPipeline {
  chat(call: ModelCall): Promise<ModelCallResult>;
  chatStream(call: ModelCall): ModelStream;
  embed(call: EmbedCall): Promise<EmbedCallResult>;
}

/** One pipeline stage: wraps the rest of the pipeline. */
export type Stage = (next: ModelPipeline) => ModelPipeline;

/** Composes stages outermost first: `compose([a, b], inner)` is `a(b(inner))`. */
export function composeStages(stages: readonly Stage[], inner: ModelPipeline): ModelPipeline {
  return stages.reduceRight((next, stage) => stage(next), inner);
}
