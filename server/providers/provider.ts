import type { EmbedRequest, EmbedResponse, ModelChunk, ModelRequest, ModelResponse, TokenUsage } from "./model.js";

/**
 * What a provider can serve, declared as data. Dispatch refuses a request a target cannot serve
 * (FAILED_PRECONDITION + CapabilityMissing) before sending it, and the conformance suite generates
 * its cases from these declarations.
 */
export interface ProviderCapabilities {
  /** Server-sent-event streaming of chat answers. */
  streaming: boolean;
  /** Function calling. */
  tools: boolean;
  /** Several tool calls in one turn. */
  parallelToolCalls: boolean;
  /** Native JSON-Schema-constrained output. */
  jsonSchema: boolean;
  /** Native "any JSON object" mode. */
  jsonObject: boolean;
  /** Embeddings. */
  embeddings: boolean;
  /** Image input. */
  vision: boolean;
}

/**
 * Bounds a provider puts on request options where providers differ, declared as data beside the
 * capabilities, each with its source in the adapter. Dispatch skips a target whose bound a
 * request exceeds and, when that leaves no target, refuses the request with INVALID_ARGUMENT
 * naming the field, before any call (`dispatch/option-bounds.ts`). A bound left out is not
 * checked: the provider decides.
 */
export interface ProviderLimits {
  /** Most stop sequences one chat request may hold. */
  maxStopSequences?: number;
  /** What the embedding models the adapter knows can return, by the model id a target names. */
  embeddingModels?: Readonly<Record<string, EmbeddingModelLimits>>;
  /**
   * The sampling penalties the adapter sends on. Unlike the bounds above, absent means none:
   * an adapter that does not list one would drop it and change the answer, so a request that
   * sets it to a non-default value skips the target (and is INVALID_ARGUMENT when none is left).
   */
  samplingPenalties?: readonly SamplingPenalty[];
  /**
   * The chat bounds of one model (by the target's model id) where they are narrower than the
   * adapter's, else undefined: they replace `maxStopSequences` and `samplingPenalties` for targets
   * on that model. OpenAI's reasoning models take no stop sequence and no penalty (each a 400), so a
   * request that sets one skips such a target, as it skips an adapter without it.
   */
  forModel?: (model: string) => Readonly<ModelChatLimits> | undefined;
}

/** The bounds {@link ProviderLimits.forModel} narrows per model. */
export type ModelChatLimits = Pick<ProviderLimits, "maxStopSequences" | "samplingPenalties">;

/** The request fields of {@link ProviderLimits.samplingPenalties}. */
export type SamplingPenalty = "frequencyPenalty" | "presencePenalty" | "logitBias";

/** The vector sizes one embedding model can return. */
export interface EmbeddingModelLimits {
  /** The length of its vectors when no size is asked for: the most it can return. */
  dimensions: number;
  /** The least size it can shorten its vectors to; absent: it cannot shorten them (any requested size is refused). */
  minDimensions?: number;
}

/** Per-call inputs that are not part of the neutral request. */
export interface CallContext {
  /** Aborts the upstream request at once (caller gone, deadline, hedge lost). */
  signal: AbortSignal;
  /** The decrypted credential (API key), if the target has one. Never logged. */
  apiKey?: string;
  /**
   * The target's provider-specific params (`RouteTarget.params`; only the keys the kind declares,
   * `ProviderDeclaration.params`, pass RouteService): Azure's `deployment`. Absent when it has none.
   */
  params?: Readonly<Record<string, string>>;
  /**
   * Extra headers for the upstream request: the W3C trace context (`traceparent`, `tracestate`)
   * of the attempt. Never credentials; the adapter's own headers win over these.
   */
  headers?: Readonly<Record<string, string>>;
  /**
   * Told the usage a stream's provider has reported so far, each time it reports it before the
   * end (Anthropic's `message_start` and `message_delta`, Gemini's `usageMetadata`): input with its
   * cache reads and writes, and output as the provider counted it (0 before it counts any). When
   * dispatch cuts the stream itself (caller gone, timeout) it bills the last report, with the
   * output it saw, instead of an estimate of the request (P3). Adapters that report usage only
   * with the final `usage` chunk need not call it. Must not throw.
   */
  reportUsage?: (usage: TokenUsage) => void;
}

/**
 * One provider wire format behind one interface. Implementations translate the neutral types to
 * and from their wire types, classify every failure once as a `ProviderError`, honour
 * `ctx.signal`, and never put a credential or a provider's raw error body into anything they
 * return or throw.
 */
export interface Provider {
  /** The provider kind (`openai`, `anthropic`, `gemini`, `groq`, …) as routes name it. */
  readonly kind: string;
  readonly capabilities: ProviderCapabilities;
  /** Bounds on request options; absent: none known. */
  readonly limits?: Readonly<ProviderLimits>;
  /** A complete chat answer. */
  chat(req: ModelRequest, ctx: CallContext): Promise<ModelResponse>;
  /** A streamed chat answer; see `ModelChunk` for the ordering contract. */
  chatStream(req: ModelRequest, ctx: CallContext): AsyncIterable<ModelChunk>;
  /** Embeddings; present only when `capabilities.embeddings`. */
  embed?(req: EmbedRequest, ctx: CallContext): Promise<EmbedResponse>;
}
