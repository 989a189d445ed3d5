import { ConnectError } from "@connectrpc/connect";
import type { RateStanding } from "../limits/rate-standing.js";
import type { ModelStream } from "../pipeline/model-call.js";
import type { ModelChunk, ModelFinishReason, TokenUsage } from "../providers/model.js";
import { finishReasonOf, newCompletionId, usageOf } from "./chat-response.js";
import { openAIErrorOf } from "./error-mapping.js";
import { responseGone, writeWithBackpressure } from "../http/write-backpressure.js";
import type { HttpResponse } from "./http-io.js";
import { rateLimitHeaders } from "./rate-limit-headers.js";
import { USAGE_HEADER_NAMES, usageHeaders } from "./usage-headers.js";

/** What a surface's stream writer needs (chat completions here, Anthropic's messages in `server/messages/`). */
export interface SurfaceStreamWriteOptions {
  res: HttpResponse;
  stream: ModelStream;
  /** The alias asked for: the answer's `model` until the provider names the model it serves. */
  route: string;
  /** Headers of the 200 answer (request ids, route). */
  headers: Record<string, string>;
  /** Filled by the rate-limit stages before the first event; sent as `x-ratelimit-*` headers. */
  rateStanding?: RateStanding;
  /** Epoch ms. */
  now: () => number;
  /** Called with a failure that was not a `ConnectError` (logged by the caller). */
  onUnexpected: (err: unknown) => void;
  /** How long a write may wait for the caller to read (default `DEFAULT_WRITE_STALL_MS`). */
  writeStallMs?: number;
}

/** What {@link writeChatCompletionStream} needs besides the model stream. */
export interface ChatStreamWriteOptions extends SurfaceStreamWriteOptions {
  includeUsage: boolean;
}

/** What a stream had sent when it ended, for its access-log line. */
export interface StreamProgress {
  /** `performance.now()` when the first content (text or a tool call) was written. */
  firstTokenAt?: number;
  /** The tokens the stream's usage chunk reported, if one came. */
  tokens?: TokenUsage;
}

/** How a streamed completion ended (a failure before any content is thrown instead). */
export type StreamEnd = ({ kind: "completed" } | { kind: "failed_mid_stream"; error: unknown } | { kind: "caller_gone" }) & StreamProgress;

/**
 * Writes `stream` as OpenAI's server-sent events: `chat.completion.chunk` objects (the first
 * carries the assistant role; tool calls arrive as indexed `tool_calls` deltas whose first piece
 * holds `id`, `type` and `name`), a final chunk with `finish_reason`, the usage chunk with empty
 * `choices` when `include_usage` (every other chunk then carries `"usage": null`, as OpenAI's do),
 * and `data: [DONE]`.
 *
 * Nothing is written before the first content: a failure before it (dispatch may still fall
 * back then) is rethrown, so the caller answers with a proper HTTP error. After content, a failure
 * ends the stream with one `data: {"error": {...}}` event and no `[DONE]`, so a client can never
 * take a cut answer for a complete one. The usage headers follow as HTTP trailers. A caller that
 * goes away stops the iteration, which cancels the model call.
 */
export async function writeChatCompletionStream(opts: ChatStreamWriteOptions): Promise<StreamEnd> {
  const { res, stream, includeUsage } = opts;
  const write = (data: string) => writeWithBackpressure(res, data, opts.writeStallMs);
  const id = newCompletionId();
  const created = Math.floor(opts.now() / 1000);
  const chunks = stream.chunks[Symbol.asyncIterator]();
  let model = opts.route;
  let opened = false;
  let finish: ModelFinishReason = "unknown";
  let tokens: TokenUsage | undefined;
  let firstTokenAt: number | undefined;
  const announced = new Set<number>();
  let ended = false;
  const progress = (): StreamProgress => ({ ...(firstTokenAt === undefined ? {} : { firstTokenAt }), ...(tokens === undefined ? {} : { tokens }) });
  const callerGone = (): StreamEnd => ({ kind: "caller_gone", ...progress() });

  const frame = (data: unknown) => `data: ${JSON.stringify(data)}\n\n`;
  const chunk = (delta: Record<string, unknown>, finishReason: string | null = null) =>
    frame({
      id,
      object: "chat.completion.chunk",
      created,
      model,
      system_fingerprint: null,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
      ...(includeUsage ? { usage: null } : {}),
    });
  const open = (first: Record<string, unknown>): Promise<boolean> => {
    opened = true;
    res.writeHead(200, {
      ...opts.headers,
      ...(opts.rateStanding === undefined ? {} : rateLimitHeaders(opts.rateStanding)),
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      trailer: USAGE_HEADER_NAMES.join(", "),
    });
    return write(chunk({ role: "assistant", ...first }));
  };
  const finishWithTrailers = async () => {
    try {
      const facts = await stream.result();
      res.addTrailers(usageHeaders(facts));
    } catch (err) {
      opts.onUnexpected(err);
    }
    res.end();
  };

  try {
    for (;;) {
      let step: IteratorResult<ModelChunk>;
      try {
        step = await chunks.next();
      } catch (err) {
        ended = true;
        if (!opened) throw err;
        // `responseGone`, not `res.destroyed`: HTTP/2's compat response has none (its stream tells).
        if (responseGone(res)) return callerGone();
        const { body } = openAIErrorOf(err, opts.now());
        if (!(err instanceof ConnectError)) opts.onUnexpected(err);
        await write(frame(body));
        await finishWithTrailers();
        return { kind: "failed_mid_stream", error: err, ...progress() };
      }
      if (step.done === true) {
        ended = true;
        break;
      }
      const c = step.value;
      let ok = true;
      switch (c.type) {
        case "start":
          if (!opened && c.model !== "") model = c.model;
          break;
        case "finish":
          finish = c.reason;
          break;
        case "usage":
          tokens = c.usage;
          break;
        case "text":
          firstTokenAt ??= performance.now();
          ok = opened ? await write(chunk({ content: c.text })) : await open({ content: c.text, refusal: null });
          break;
        case "tool_call": {
          firstTokenAt ??= performance.now();
          const first = !announced.has(c.index);
          announced.add(c.index);
          const call = first
            ? { index: c.index, id: c.id ?? "", type: "function", function: { name: c.name ?? "", arguments: c.argumentsDelta } }
            : { index: c.index, function: { arguments: c.argumentsDelta } };
          ok = opened ? await write(chunk({ tool_calls: [call] })) : await open({ content: null, tool_calls: [call], refusal: null });
          break;
        }
      }
      if (!ok) return callerGone();
    }
    if (!opened && !(await open({ content: "", refusal: null }))) return callerGone();
    const tail = [chunk({}, finishReasonOf(finish, announced.size > 0))];
    if (includeUsage) {
      tail.push(frame({ id, object: "chat.completion.chunk", created, model, system_fingerprint: null, choices: [], usage: usageOf(tokens ?? (await lastAttemptUsage(stream))) }));
    }
    tail.push("data: [DONE]\n\n");
    if (!(await write(tail.join("")))) return callerGone();
    await finishWithTrailers();
    return { kind: "completed", ...progress() };
  } finally {
    if (!ended) await chunks.return?.();
  }
}

/** Tokens of the winning attempt, when the stream ended without a usage chunk. */
export async function lastAttemptUsage(stream: ModelStream): Promise<TokenUsage> {
  const r = await stream.result();
  const last = r.attempts.at(-1)?.usage;
  return last ?? { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0, estimated: true };
}
