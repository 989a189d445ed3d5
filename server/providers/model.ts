/**
 * The provider-neutral model call: what verbs and the pipeline hand to dispatch, and what every
 * adapter translates to and from its wire format. Wire types never leave an adapter; these do.
 */

/** A JSON value, as parsed from or written to a provider's JSON. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
/** A JSON object (JSON Schemas, tool parameters). */
export type JsonObject = { [key: string]: JsonValue };

/** Who speaks a message. */
export type ModelRole = "system" | "user" | "assistant" | "tool";

/**
 * One piece of a message's content. `cacheBreakpoint`: cache the prompt up to and including this
 * part, where the provider must be told (Anthropic's `cache_control`); adapters of providers that
 * cache automatically ignore it. It never changes the answer (see `PromptCachingMode`).
 */
export type ModelContentPart =
  | { type: "text"; text: string; cacheBreakpoint?: boolean }
  /** A picture: an https/data URL, or inline bytes with their MIME type. */
  | { type: "image"; url?: string; data?: Uint8Array; mimeType?: string; cacheBreakpoint?: boolean };

/** A tool call the model made (or, in history, made earlier). */
export interface ModelToolCall {
  id: string;
  name: string;
  /** The arguments as the JSON text the model produced (may be invalid JSON: callers validate). */
  argumentsJson: string;
}

/** One conversation turn. */
export interface ModelMessage {
  role: ModelRole;
  content: ModelContentPart[];
  /** Assistant turns: the tool calls it made. */
  toolCalls?: ModelToolCall[];
  /** Tool turns: the id of the call this answers. */
  toolCallId?: string;
  /** Tool turns: the tool's name (Gemini needs it); other turns: the speaker's name. */
  name?: string;
}

/** A function the model may call. */
export interface ModelTool {
  name: string;
  description?: string;
  /** JSON Schema of the arguments object. */
  parameters?: JsonObject;
  strict?: boolean;
  /** A prompt-cache breakpoint after this tool's definition, as `ModelContentPart.cacheBreakpoint`. */
  cacheBreakpoint?: boolean;
}

/** Constraint on tool use. */
export type ModelToolChoice = { type: "auto" } | { type: "none" } | { type: "required" } | { type: "tool"; name: string };

/** The shape the answer must take. */
export type ModelResponseFormat =
  | { type: "text" }
  | { type: "json_object" }
  | { type: "json_schema"; name: string; schema: JsonObject; strict: boolean };

/**
 * How much hidden reasoning the model may do before it answers (OpenAI's `reasoning_effort`
 * levels; each adapter that can take it maps it to its own control, and the others leave it out).
 */
export type ReasoningEffort = "minimal" | "low" | "medium" | "high";

/** The reasoning efforts, least first. */
export const REASONING_EFFORTS: readonly ReasoningEffort[] = Object.freeze(["minimal", "low", "medium", "high"]);

/**
 * Where prompt-cache breakpoints go beyond the ones the request marks: `auto`, the gateway adds
 * them where Anthropic's multi-turn recipe puts them (after the last tool and the last system part,
 * on the final message and on the user turn before it). Absent: only the marked ones. Each adapter
 * that needs breakpoints places them on its own wire; the others ignore it.
 */
export type PromptCachingMode = "auto";

/** A chat completion request, provider-neutral. */
export interface ModelRequest {
  /** The provider's model id. */
  model: string;
  messages: ModelMessage[];
  tools?: ModelTool[];
  toolChoice?: ModelToolChoice;
  responseFormat?: ModelResponseFormat;
  maxOutputTokens?: number;
  temperature?: number;
  topP?: number;
  stop?: string[];
  seed?: number;
  parallelToolCalls?: boolean;
  reasoningEffort?: ReasoningEffort;
  /**
   * OpenAI-semantics sampling penalties, -2..2 (0: none). Only adapters that declare them
   * (`ProviderLimits.samplingPenalties`) get a non-zero value; dispatch skips the others.
   */
  frequencyPenalty?: number;
  presencePenalty?: number;
  /** Bias (-100..100) by token id of the target's tokenizer, OpenAI-style; empty: none. Declared like the penalties. */
  logitBias?: Record<string, number>;
  /** Breakpoints placed by the gateway (see `PromptCachingMode`); marks on parts and tools apply either way. */
  promptCaching?: PromptCachingMode;
}

/** Tokens one provider call consumed, as the provider reported them (or estimated). */
export interface TokenUsage {
  /** All input tokens, cached and cache-written ones included. */
  inputTokens: number;
  /** All output tokens, reasoning ones included. */
  outputTokens: number;
  /** Input tokens read from the provider's prompt cache. */
  cachedInputTokens: number;
  /** Input tokens written to the provider's prompt cache (Anthropic bills them at a premium). */
  cacheWriteInputTokens: number;
  /** Output tokens spent on hidden reasoning. */
  reasoningTokens: number;
  /** True when counted by the gateway because the provider reported none. */
  estimated: boolean;
}

/** Why the model stopped. */
export type ModelFinishReason = "stop" | "length" | "tool_calls" | "content_filter" | "unknown";

/** A complete chat answer. */
export interface ModelResponse {
  text: string;
  toolCalls: ModelToolCall[];
  finishReason: ModelFinishReason;
  usage: TokenUsage;
  /** The model id the provider says served the call. */
  model: string;
  /** The provider's id for the call, for support tickets (never shown as ours). */
  providerRequestId?: string;
}

/**
 * One event of a streamed answer. A stream that ends normally yields exactly one `finish` and
 * exactly one `usage` (estimated when the provider sent none), in either order, after all content;
 * a stream that fails throws a `ProviderError` instead.
 */
export type ModelChunk =
  | { type: "text"; text: string }
  /** A piece of a tool call; concatenate `argumentsDelta` per `index`. `id`/`name` come first. */
  | { type: "tool_call"; index: number; id?: string; name?: string; argumentsDelta: string }
  | { type: "finish"; reason: ModelFinishReason }
  | { type: "usage"; usage: TokenUsage }
  /**
   * Sent once, first, when the provider reports who serves the stream. Dispatch adds the
   * `provider` kind of the target serving it; the cache stage adds how it took part (a replayed
   * hit, or a miss it looked up; a stream it handed through has none: a bypass).
   */
  | { type: "start"; model: string; providerRequestId?: string; provider?: string; cacheStatus?: CacheStatusName };

/** How the response cache took part in a call. */
export type CacheStatusName = "miss" | "hit_exact" | "hit_semantic" | "bypass";

/** What the texts to embed are for (models that distinguish them). */
export type EmbedInputType = "document" | "query";

/** An embedding request. */
export interface EmbedRequest {
  model: string;
  inputs: string[];
  dimensions?: number;
  inputType?: EmbedInputType;
}

/** Vectors, one per input, in input order. */
export interface EmbedResponse {
  vectors: number[][];
  usage: TokenUsage;
  model: string;
}

/** A usage with every count zero. */
export function emptyUsage(estimated = false): TokenUsage {
  return { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0, estimated };
}
