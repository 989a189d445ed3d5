import { ConnectError } from "@connectrpc/connect";
import type { ModelChunk, ModelFinishReason, TokenUsage } from "../providers/model.js";
import { responseGone, writeWithBackpressure } from "../http/write-backpressure.js";
import { lastAttemptUsage, type StreamEnd, type StreamProgress, type SurfaceStreamWriteOptions } from "../openai/chat-stream.js";
import { rateLimitHeaders } from "../openai/rate-limit-headers.js";
import { USAGE_HEADER_NAMES, usageHeaders } from "../openai/usage-headers.js";
import { anthropicErrorOf } from "./messages-errors.js";
import { anthropicUsageOf, newMessageId, stopReasonOf } from "./messages-response.js";

/** What {@link writeMessagesStream} needs besides the model stream (the OpenAI surface's writer's options). */
export type MessagesStreamWriteOptions = SurfaceStreamWriteOptions;

/** The content block being streamed: text, or the tool call of a neutral index. */
type OpenBlock = { kind: "text" } | { kind: "tool"; index: number };

/**
 * Writes `stream` as Anthropic's server-sent events, each with its `event:` line: `message_start`
 * (the message with empty content and zero usage: the neutral stream reports tokens only at its
 * end), then per content block `content_block_start`, its `content_block_delta`s (`text_delta`;
 * `input_json_delta` for a tool call's arguments) and `content_block_stop` — one `ping` after the
 * first block starts —, then `message_delta` with the `stop_reason` and the whole usage (input,
 * cache and output tokens: Anthropic's SDKs take each as the message's total), and `message_stop`.
 *
 * As on the OpenAI surface (`chat-stream.ts`), nothing is written before the first content: a
 * failure before it is rethrown, so the caller answers with a proper HTTP error; a failure after
 * it ends the stream with one `event: error` and no `message_stop`. The usage headers follow as
 * HTTP trailers. A caller that goes away stops the iteration, which cancels the model call.
 *
 * Anthropic's blocks do not interleave: a neutral stream that goes back to a tool call after
 * another block began (no adapter's does) fails the stream rather than send a wrong answer.
 */
export async function writeMessagesStream(opts: MessagesStreamWriteOptions): Promise<StreamEnd> {
  const { res, stream } = opts;
  const write = (data: string) => writeWithBackpressure(res, data, opts.writeStallMs);
  const id = newMessageId();
  const chunks = stream.chunks[Symbol.asyncIterator]();
  let model = opts.route;
  let opened = false;
  let pinged = false;
  let finish: ModelFinishReason = "unknown";
  let tokens: TokenUsage | undefined;
  let firstTokenAt: number | undefined;
  let open: OpenBlock | undefined;
  let blocks = 0;
  let toolBlocks = 0;
  const closedTools = new Set<number>();
  let ended = false;
  const progress = (): StreamProgress => ({ ...(firstTokenAt === undefined ? {} : { firstTokenAt }), ...(tokens === undefined ? {} : { tokens }) });
  const callerGone = (): StreamEnd => ({ kind: "caller_gone", ...progress() });

  const frame = (event: string, data: Record<string, unknown>) => `event: ${event}\ndata: ${JSON.stringify({ type: event, ...data })}\n\n`;
  /** The events that open the answer: headers, then `message_start`. */
  const start = (): string => {
    opened = true;
    res.writeHead(200, {
      ...opts.headers,
      ...(opts.rateStanding === undefined ? {} : rateLimitHeaders(opts.rateStanding)),
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      trailer: USAGE_HEADER_NAMES.join(", "),
    });
    const usage = { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
    return frame("message_start", { message: { id, type: "message", role: "assistant", model, content: [], stop_reason: null, stop_sequence: null, usage } });
  };
  /** The events that close the open block, if any. */
  const close = (): string => {
    if (open === undefined) return "";
    if (open.kind === "tool") closedTools.add(open.index);
    open = undefined;
    return frame("content_block_stop", { index: blocks - 1 });
  };
  /** The events that open a new block (the first is followed by the one `ping`). */
  const begin = (block: OpenBlock, contentBlock: Record<string, unknown>): string => {
    const events = close() + frame("content_block_start", { index: blocks, content_block: contentBlock });
    open = block;
    blocks++;
    if (pinged) return events;
    pinged = true;
    return events + frame("ping", {});
  };
  const eventsOf = (c: ModelChunk & { type: "text" | "tool_call" }): string => {
    let events = opened ? "" : start();
    if (c.type === "text") {
      if (open?.kind !== "text") events += begin({ kind: "text" }, { type: "text", text: "" });
      return events + frame("content_block_delta", { index: blocks - 1, delta: { type: "text_delta", text: c.text } });
    }
    if (open?.kind !== "tool" || open.index !== c.index) {
      if (closedTools.has(c.index)) throw new Error(`tool call ${c.index} resumed after another content block began`);
      toolBlocks++;
      events += begin({ kind: "tool", index: c.index }, { type: "tool_use", id: c.id ?? "", name: c.name ?? "", input: {} });
    }
    return c.argumentsDelta === "" ? events : events + frame("content_block_delta", { index: blocks - 1, delta: { type: "input_json_delta", partial_json: c.argumentsDelta } });
  };
  const finishWithTrailers = async () => {
    try {
      res.addTrailers(usageHeaders(await stream.result()));
    } catch (err) {
      opts.onUnexpected(err);
    }
    res.end();
  };
  const fail = async (err: unknown): Promise<StreamEnd> => {
    if (responseGone(res)) return callerGone();
    if (!(err instanceof ConnectError)) opts.onUnexpected(err);
    const { body } = anthropicErrorOf(err, opts.now());
    await write(frame("error", { error: body.error }));
    await finishWithTrailers();
    return { kind: "failed_mid_stream", error: err, ...progress() };
  };

  try {
    for (;;) {
      let step: IteratorResult<ModelChunk>;
      try {
        step = await chunks.next();
      } catch (err) {
        ended = true;
        if (!opened) throw err;
        return await fail(err);
      }
      if (step.done === true) {
        ended = true;
        break;
      }
      const c = step.value;
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
        case "tool_call": {
          firstTokenAt ??= performance.now();
          let events: string;
          try {
            events = eventsOf(c);
          } catch (err) {
            if (!opened) throw err;
            return await fail(err);
          }
          if (!(await write(events))) return callerGone();
          break;
        }
      }
    }
    let tail = opened ? "" : start();
    if (blocks === 0) tail += begin({ kind: "text" }, { type: "text", text: "" });
    tail += close();
    const usage = anthropicUsageOf(tokens ?? (await lastAttemptUsage(stream)));
    tail += frame("message_delta", { delta: { stop_reason: stopReasonOf(finish, toolBlocks > 0), stop_sequence: null }, usage });
    tail += frame("message_stop", {});
    if (!(await write(tail))) return callerGone();
    await finishWithTrailers();
    return { kind: "completed", ...progress() };
  } finally {
    if (!ended) await chunks.return?.();
  }
}
