/**
 * The control surface of a scripted wire server, whatever its wire format: the built-in sandbox
 * provider and every test fake offer it, so the conformance suite and the fault tests drive them
 * all the same way.
 */

/** A scripted failure for one upstream request. */
export type Fault =
  /** Answer with this HTTP status and the provider's own error envelope. */
  | { kind: "status"; status: number; retryAfterSeconds?: number; retryAfterMs?: number; errorType?: string; message?: string }
  /** Close the connection without answering. */
  | { kind: "refuse" }
  /** Accept the request and never send headers. */
  | { kind: "hang" }
  /** Streams: send the first event, then nothing. */
  | { kind: "stall_after_first_chunk" }
  /** Streams: wait this long between events. */
  | { kind: "slow_drip"; delayMs: number }
  /** Streams: stop half-way and close the connection, without the terminator. Unary: half the body, then close. */
  | { kind: "cut" }
  /** Streams: send an event that is not valid for the format after the first one. */
  | { kind: "malformed_sse" }
  /** Streams: split every multi-byte UTF-8 character across two writes. */
  | { kind: "split_utf8" }
  /** Report no usage (streams: no usage event; unary: no usage object). */
  | { kind: "missing_usage" }
  /** Generate more output tokens than the request's max tokens. */
  | { kind: "overrun_max_tokens" }
  /** Streams: the provider's own in-stream error event after the first content. */
  | { kind: "mid_stream_error" }
  /** Streams: write the body in pieces of 1..maxPiece bytes chosen by a seeded generator. */
  | { kind: "rechunk"; seed: number; maxPiece?: number };

/**
 * Token counts a scripted reply reports (defaults: counted from the text), in the neutral
 * `TokenUsage` sense: `input` is ALL input tokens (cached and cache-written included) and
 * `output` is ALL output tokens (reasoning included). Each wire format renders them into its own
 * fields (for example Anthropic's `input_tokens` = input − cachedInput − cacheWrite), so an
 * adapter that maps its wire back correctly returns exactly these numbers.
 */
export interface ScriptedUsage {
  input?: number;
  output?: number;
  cachedInput?: number;
  cacheWrite?: number;
  reasoning?: number;
}

/** What the server answers, when scripted; otherwise the wire format's default (an echo of the last user text). */
export interface Reply {
  text?: string;
  toolCalls?: Array<{ id?: string; name: string; argumentsJson: string }>;
  usage?: ScriptedUsage;
  finishReason?: "stop" | "length" | "tool_calls" | "content_filter";
  /**
   * The model's reasoning, where a fake shows it (the Anthropic fake's `thinking` block, sent when
   * the request enables thinking). Its words are the reasoning tokens unless `usage.reasoning` says.
   */
  thinking?: string;
  /** Embeddings: the vectors' length (default 8). */
  dimensions?: number;
}

/** One upstream request's fate: a fault, a reply, or both (a content fault on a reply). */
export interface ScriptStep {
  fault?: Fault;
  reply?: Reply;
  /** Wait this long before answering at all (the model's time to first byte). */
  delayMs?: number;
}

/** A request the server received. */
export interface RecordedRequest {
  method: string;
  path: string;
  /** The query string as sent, with its `?` ("" when none). */
  search: string;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body (undefined for an empty or invalid body). */
  body: unknown;
  /** When it arrived (ms since epoch). */
  receivedAt: number;
  /** When the client went away before the response ended, if it did. */
  abortedAt?: number;
}

/** One line of the truth log: what this upstream request would be invoiced for. */
export interface TruthEntry {
  path: string;
  model: string;
  stream: boolean;
  inputTokens: number;
  /** Output tokens generated (all of them, even if the client saw only part). */
  outputTokens: number;
  cachedInputTokens: number;
  cacheWriteInputTokens: number;
  reasoningTokens: number;
  /** complete: the whole answer was sent; partial: cut, stalled or aborted mid-way; none: an error status, refused or hung. */
  delivered: "complete" | "partial" | "none";
}

/** A running scripted wire server (a test fake, or the sandbox provider's server). */
export interface ScriptedServer {
  /** Wire format it speaks (`openai`, `anthropic`, `gemini`). */
  readonly kind: string;
  /** Root URL, e.g. `http://127.0.0.1:PORT` (the adapter appends its paths). */
  readonly url: string;
  /** Queues steps; each upstream request consumes one, in order, before any other rule applies. */
  script(...steps: ScriptStep[]): void;
  /** The requests received, in order (the most recent ones, when the server keeps a bounded history). */
  requests(): RecordedRequest[];
  /** The truth log, one entry per request that reached the model (bounded like `requests`). */
  truth(): TruthEntry[];
  /** Clears the script, the request log and the truth log. */
  reset(): void;
  /** Drops every open connection and keeps listening (a test starting its next phase with no socket of the last). */
  dropConnections(): void;
  /** Stops listening, drops every open connection and cancels pending delays. */
  close(): Promise<void>;
}
