/**
 * The Anthropic Messages API wire types (`POST /v1/messages`, anthropic-version 2023-06-01), as
 * far as the adapter reads or writes them. Private to the Anthropic adapter: nothing outside
 * `server/providers/anthropic*` may import this file.
 */
import type { JsonObject } from "../model.js";

/**
 * A prompt-cache breakpoint: the prompt up to and including the block (or tool) that carries it is
 * cached. Only the default 5-minute TTL is sent (`ttl` absent; see `cache-control.ts`).
 */
export interface WireCacheControl {
  type: "ephemeral";
}

/** What every block, and a tool definition, may carry. */
interface Cacheable {
  cache_control?: WireCacheControl;
}

/** A text or image block: what user turns, and `tool_result` blocks, may hold. */
export type WireMediaBlock =
  | ({ type: "text"; text: string } & Cacheable)
  | ({ type: "image"; source: { type: "base64"; media_type: string; data: string } | { type: "url"; url: string } } & Cacheable);

/** A content block the gateway sends. */
export type WireRequestBlock =
  | WireMediaBlock
  | ({ type: "tool_use"; id: string; name: string; input: JsonObject } & Cacheable)
  | ({ type: "tool_result"; tool_use_id: string; content?: WireMediaBlock[] } & Cacheable);

/** A block of the top-level `system` prompt. */
export type WireSystemBlock = { type: "text"; text: string } & Cacheable;

/** One turn of `messages`: roles strictly alternate, the first is `user`. */
export interface WireMessage {
  role: "user" | "assistant";
  content: WireRequestBlock[];
}

/** A tool definition. */
export interface WireTool extends Cacheable {
  name: string;
  description?: string;
  input_schema: JsonObject;
  strict?: boolean;
}

/** `tool_choice`; `disable_parallel_tool_use` is allowed on all but `none`. */
export type WireToolChoice =
  | { type: "auto" | "any"; disable_parallel_tool_use?: boolean }
  | { type: "tool"; name: string; disable_parallel_tool_use?: boolean }
  | { type: "none" };

/** The request body. */
export interface WireRequest {
  model: string;
  max_tokens: number;
  messages: WireMessage[];
  /** System prompt as text blocks (Anthropic has no `system` role in `messages`). */
  system?: WireSystemBlock[];
  tools?: WireTool[];
  tool_choice?: WireToolChoice;
  temperature?: number;
  top_p?: number;
  stop_sequences?: string[];
  stream?: boolean;
  /** Extended thinking: a budget (`budget_tokens` ≥ 1,024 and below `max_tokens`) or adaptive. */
  thinking?: WireThinking;
  /** Output settings: only `effort` is sent (structured output is a tool, `structured-output.ts`). */
  output_config?: { effort?: WireEffort };
}

/** `thinking`: a budget up to Claude 4.6, adaptive (with `output_config.effort`) from 4.6 on. */
export type WireThinking = { type: "enabled"; budget_tokens: number } | { type: "adaptive" };

/** `output_config.effort`: how many tokens the model spends, thinking, text and tool calls alike (`high` is the default). */
export type WireEffort = "low" | "medium" | "high" | "xhigh" | "max";

/** Usage as `Message.usage`, `message_start.message.usage` and `message_delta.usage` carry it. */
export interface WireUsage {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  output_tokens_details?: { thinking_tokens?: number | null } | null;
}

/** A content block the model produced (other block types, such as `thinking`, are skipped). */
export type WireResponseBlock =
  | { type: "text"; text: string }
  | { type: "tool_use"; id: string; name: string; input: unknown }
  | { type: string; [key: string]: unknown };

/** The unary response body, and `message_start.message` (with empty `content`). */
export interface WireMessageResponse {
  id?: string;
  type?: "message";
  model?: string;
  content?: WireResponseBlock[];
  stop_reason?: string | null;
  usage?: WireUsage | null;
}

/** `{"type":"error","error":{"type":…,"message":…},"request_id":…}`: HTTP errors and `event: error`. */
export interface WireErrorEnvelope {
  type?: "error";
  error?: { type?: string; message?: string };
  request_id?: string;
}

/** The streamed events the adapter understands; any other `type` is ignored, as Anthropic's versioning policy asks. */
export type WireStreamEvent =
  | { type: "message_start"; message: WireMessageResponse }
  | { type: "content_block_start"; index: number; content_block: WireResponseBlock }
  | { type: "content_block_delta"; index: number; delta: { type: string; text?: string; partial_json?: string; thinking?: string } }
  | { type: "content_block_stop"; index: number }
  | { type: "message_delta"; delta: { stop_reason?: string | null }; usage?: WireUsage | null }
  | { type: "message_stop" }
  | { type: "ping" }
  | ({ type: "error" } & WireErrorEnvelope);
