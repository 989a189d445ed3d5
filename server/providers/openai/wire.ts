/**
 * OpenAI Chat Completions wire types and the mapping between them and the neutral model types.
 * Private to the OpenAI adapter (and the OpenAI-compatible presets that compose it).
 */
import { tokenCount } from "../token-count.js";
import { openAIReasoningEffort, openAITakesSampling } from "./reasoning-models.js";
import type {
  EmbedRequest,
  JsonObject,
  ModelContentPart,
  ModelFinishReason,
  ModelMessage,
  ModelRequest,
  ModelResponseFormat,
  ModelToolChoice,
  ReasoningEffort,
  TokenUsage,
} from "../model.js";

/** Which request field carries the output-token limit. */
export type MaxTokensField = "max_completion_tokens" | "max_tokens";

/** Vendor differences in the request the adapter writes (data, set by a preset). */
export interface OpenAIQuirks {
  /** `max_completion_tokens` (OpenAI, Azure, Groq) or the older `max_tokens` most compatible servers read. */
  maxTokensField: MaxTokensField;
  /** Whether to send `stream_options: { include_usage: true }` (servers that reject it report usage anyway or not at all). */
  streamUsageOption: boolean;
  /** Whether to send a message's `name` (Mistral rejects the field with a 422). */
  messageNames: boolean;
  /** The field that carries `seed` (default `seed`; Mistral reads `random_seed` and rejects `seed` with a 422). */
  seedField?: "seed" | "random_seed";
  /**
   * Whether to send `reasoning_effort` (OpenAI's and Azure OpenAI's chat completions take
   * minimal, low, medium and high), and then only to the models that take it
   * (`reasoning-models.ts`: the others answer it with a 400). Vendors without it may reject an
   * unknown field, so the others leave a request's effort out and answer without it.
   */
  reasoningEffort?: boolean;
}

/** The OpenAI defaults. */
export const OPENAI_QUIRKS: Readonly<OpenAIQuirks> = Object.freeze({ maxTokensField: "max_completion_tokens", streamUsageOption: true, messageNames: true, reasoningEffort: true });

type WireContentPart = { type: "text"; text: string } | { type: "image_url"; image_url: { url: string } };

interface WireToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

type WireMessage =
  | { role: "system"; content: string; name?: string }
  | { role: "user"; content: string | WireContentPart[]; name?: string }
  | { role: "assistant"; content: string | null; name?: string; tool_calls?: WireToolCall[] }
  | { role: "tool"; content: string; tool_call_id: string };

type WireToolChoice = "auto" | "none" | "required" | { type: "function"; function: { name: string } };

type WireResponseFormat =
  | { type: "text" }
  | { type: "json_object" }
  | { type: "json_schema"; json_schema: { name: string; schema: JsonObject; strict: boolean } };

/** The body of `POST …/chat/completions`. */
export interface WireChatRequest {
  model: string;
  messages: WireMessage[];
  tools?: Array<{ type: "function"; function: { name: string; description?: string; parameters?: JsonObject; strict?: boolean } }>;
  tool_choice?: WireToolChoice;
  parallel_tool_calls?: boolean;
  response_format?: WireResponseFormat;
  max_completion_tokens?: number;
  max_tokens?: number;
  temperature?: number;
  top_p?: number;
  stop?: string[];
  seed?: number;
  random_seed?: number;
  reasoning_effort?: ReasoningEffort;
  frequency_penalty?: number;
  presence_penalty?: number;
  logit_bias?: Record<string, number>;
  stream?: boolean;
  stream_options?: { include_usage: boolean };
}

/** `usage` of a completion, a final stream chunk, or an embeddings answer. */
export interface WireUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number | null } | null;
  completion_tokens_details?: { reasoning_tokens?: number | null } | null;
  /** DeepSeek reports its prompt-cache hits here instead of `prompt_tokens_details`. */
  prompt_cache_hit_tokens?: number;
}

/** A non-streamed completion (only the fields the adapter reads). */
export interface WireChatResponse {
  id?: string;
  model?: string;
  choices?: Array<{
    index?: number;
    message?: { content?: string | null; refusal?: string | null; tool_calls?: Array<Partial<WireToolCall>> | null };
    finish_reason?: string | null;
  }>;
  usage?: WireUsage | null;
}

/** One `chat.completion.chunk` (or an in-stream `error`). */
export interface WireChatChunk {
  id?: string;
  model?: string;
  choices?: Array<{
    index?: number;
    delta?: {
      content?: string | null;
      refusal?: string | null;
      tool_calls?: Array<{ index?: number; id?: string; function?: { name?: string; arguments?: string } }> | null;
    } | null;
    finish_reason?: string | null;
  }>;
  usage?: WireUsage | null;
  error?: WireError | null;
}

/** The `error` object of the OpenAI error envelope `{"error": {...}}`. */
export interface WireError {
  message?: string;
  type?: string | null;
  param?: string | null;
  code?: string | number | null;
}

/** The body of `POST …/embeddings`. */
export interface WireEmbeddingsRequest {
  model: string;
  input: string[];
  encoding_format: "float";
  dimensions?: number;
}

/** An embeddings answer (only the fields the adapter reads). */
export interface WireEmbeddingsResponse {
  data?: Array<{ index?: number; embedding?: number[] | string }>;
  model?: string;
  usage?: WireUsage | null;
}

/** Builds the chat request body. */
export function toWireChatRequest(req: ModelRequest, quirks: OpenAIQuirks, stream: boolean): WireChatRequest {
  const body: WireChatRequest = { model: req.model, messages: req.messages.map((m) => toWireMessage(m, quirks.messageNames)) };
  if (req.tools && req.tools.length > 0) {
    body.tools = req.tools.map((t) => ({
      type: "function",
      function: {
        name: t.name,
        ...(t.description === undefined ? {} : { description: t.description }),
        ...(t.parameters === undefined ? {} : { parameters: t.parameters }),
        ...(t.strict === undefined ? {} : { strict: t.strict }),
      },
    }));
    if (req.parallelToolCalls !== undefined) body.parallel_tool_calls = req.parallelToolCalls;
  }
  if (req.toolChoice) body.tool_choice = toWireToolChoice(req.toolChoice);
  if (req.responseFormat && req.responseFormat.type !== "text") body.response_format = toWireResponseFormat(req.responseFormat);
  if (req.maxOutputTokens !== undefined) body[quirks.maxTokensField] = req.maxOutputTokens;
  // OpenAI's own models (the vendors that declare `reasoning_effort`): a reasoning model takes only
  // the default sampling, so any other value is left out (`reasoning-models.ts`).
  const gated = quirks.reasoningEffort === true;
  if (req.temperature !== undefined && (!gated || openAITakesSampling(req.model, req.temperature))) body.temperature = req.temperature;
  if (req.topP !== undefined && (!gated || openAITakesSampling(req.model, req.topP))) body.top_p = req.topP;
  if (req.stop && req.stop.length > 0) body.stop = req.stop;
  if (req.seed !== undefined) body[quirks.seedField ?? "seed"] = req.seed;
  if (req.reasoningEffort !== undefined && quirks.reasoningEffort === true) {
    const effort = openAIReasoningEffort(req.model, req.reasoningEffort);
    if (effort !== undefined) body.reasoning_effort = effort;
  }
  // Reach only a vendor that declares them (`ProviderLimits.samplingPenalties`): dispatch skips the others.
  if (req.frequencyPenalty !== undefined) body.frequency_penalty = req.frequencyPenalty;
  if (req.presencePenalty !== undefined) body.presence_penalty = req.presencePenalty;
  if (req.logitBias !== undefined && Object.keys(req.logitBias).length > 0) body.logit_bias = req.logitBias;
  if (stream) {
    body.stream = true;
    if (quirks.streamUsageOption) body.stream_options = { include_usage: true };
  }
  return body;
}

function toWireMessage(m: ModelMessage, withName: boolean): WireMessage {
  const name = m.name === undefined || !withName ? {} : { name: m.name };
  switch (m.role) {
    case "system":
      return { role: "system", content: textOf(m.content), ...name };
    case "user":
      return { role: "user", content: m.content.some((p) => p.type === "image") ? m.content.map(toWirePart) : textOf(m.content), ...name };
    case "assistant": {
      const text = textOf(m.content);
      const calls = m.toolCalls ?? [];
      return {
        role: "assistant",
        content: text === "" && calls.length > 0 ? null : text,
        ...name,
        ...(calls.length > 0
          ? { tool_calls: calls.map((c) => ({ id: c.id, type: "function" as const, function: { name: c.name, arguments: c.argumentsJson } })) }
          : {}),
      };
    }
    case "tool":
      return { role: "tool", content: textOf(m.content), tool_call_id: m.toolCallId ?? "" };
  }
}

/** The text parts of a message, joined with newlines (servers that take only strings get one). */
function textOf(parts: ModelContentPart[]): string {
  return parts
    .filter((p): p is Extract<ModelContentPart, { type: "text" }> => p.type === "text")
    .map((p) => p.text)
    .join("\n");
}

function toWirePart(p: ModelContentPart): WireContentPart {
  if (p.type === "text") return { type: "text", text: p.text };
  const url = p.url ?? `data:${p.mimeType ?? "application/octet-stream"};base64,${Buffer.from(p.data ?? new Uint8Array()).toString("base64")}`;
  return { type: "image_url", image_url: { url } };
}

function toWireToolChoice(c: ModelToolChoice): WireToolChoice {
  return c.type === "tool" ? { type: "function", function: { name: c.name } } : c.type;
}

function toWireResponseFormat(f: Exclude<ModelResponseFormat, { type: "text" }>): WireResponseFormat {
  if (f.type === "json_object") return { type: "json_object" };
  return { type: "json_schema", json_schema: { name: f.name, schema: f.schema, strict: f.strict } };
}

/** Builds the embeddings request body (always float vectors: not every compatible server speaks base64). */
export function toWireEmbeddingsRequest(req: EmbedRequest): WireEmbeddingsRequest {
  return { model: req.model, input: req.inputs, encoding_format: "float", ...(req.dimensions === undefined ? {} : { dimensions: req.dimensions }) };
}

/** Maps `finish_reason`; the legacy `function_call` counts as tool calls. */
export function fromWireFinishReason(reason: string | null | undefined): ModelFinishReason {
  switch (reason) {
    case "stop":
      return "stop";
    case "length":
      return "length";
    case "tool_calls":
    case "function_call":
      return "tool_calls";
    case "content_filter":
      return "content_filter";
    default:
      return "unknown";
  }
}

/**
 * Maps `usage`: `prompt_tokens` already includes the cached ones and `completion_tokens` the
 * reasoning ones, as the neutral type wants. OpenAI has no cache-write count (writes are not
 * billed separately), so that stays 0.
 */
export function fromWireUsage(u: WireUsage): TokenUsage {
  return {
    inputTokens: tokenCount(u.prompt_tokens),
    outputTokens: tokenCount(u.completion_tokens),
    cachedInputTokens: tokenCount(u.prompt_tokens_details?.cached_tokens ?? u.prompt_cache_hit_tokens),
    cacheWriteInputTokens: 0,
    reasoningTokens: tokenCount(u.completion_tokens_details?.reasoning_tokens),
    estimated: false,
  };
}


export { estimateUsage } from "../usage-estimate.js";

/** Decodes a base64 embedding (little-endian float32), for servers that ignore `encoding_format`. */
export function decodeEmbedding(e: number[] | string | undefined): number[] {
  if (Array.isArray(e)) return e;
  if (typeof e !== "string") return [];
  const bytes = Buffer.from(e, "base64");
  const out: number[] = [];
  for (let i = 0; i + 4 <= bytes.length; i += 4) out.push(bytes.readFloatLE(i));
  return out;
}
