import { answerAttempts } from "../dispatch/attempt-record.js";
import type { ModelPipeline, ModelStream } from "../pipeline/model-call.js";
import { emptyUsage, type CacheStatusName, type ModelChunk, type ModelFinishReason, type TokenUsage } from "../providers/model.js";
import { buildChatCall, type ChatInput } from "./chat-request.js";
import { failureTerminal, failureUsage, type ChatStreamEvent } from "./chat-stream-events.js";
import type { VerbContext } from "./verb-context.js";
import { sumUsage, type CallUsage, type VerbUsage } from "./verb-usage.js";

export type { ChatStreamEvent, ChatStreamTerminal } from "./chat-stream-events.js";

/** Dependencies of the ChatStream verb. */
export interface ChatStreamDeps {
  pipeline: ModelPipeline;
  /** Clock for the deadline check (default `Date.now`). */
  now?: () => number;
}

/** The ChatStream verb: a stream of events that ends with exactly one terminal event, or throws. */
export type ChatStreamVerb = (input: ChatInput, ctx: VerbContext) => AsyncIterable<ChatStreamEvent>;

/**
 * The stream's usage once it has ended: `tokens` picks the tokens from what the pipeline billed
 * (every attempt and the cost come from there).
 */
async function settle(
  stream: ModelStream,
  model: string,
  ctx: VerbContext,
  tokens: (lastAttempt: TokenUsage | undefined) => TokenUsage,
): Promise<VerbUsage> {
  let call: CallUsage;
  try {
    const r = await stream.result();
    // The last attempt at answering (a semantic lookup's embedding is billed, not the answer's tokens).
    call = { ...r, usage: tokens(answerAttempts(r.attempts).at(-1)?.usage) };
  } catch {
    // The pipeline promises a result either way; without one, report what the stream showed.
    call = { usage: tokens(undefined), provider: "", model, attempts: [], costMicrosUsd: 0n, cacheStatus: "bypass" };
  }
  return sumUsage([call], ctx.template);
}

/**
 * Creates ChatStream over `pipeline.chatStream`. Deltas are forwarded as they arrive (never
 * buffered); `started` is sent just before the first delta (or the terminal event of an empty
 * answer), so a failure before any content is rethrown and the RPC fails normally, with no
 * event sent. After content, a failure becomes the stream's terminal event (see
 * `failureTerminal`), with the tokens the failure reports (else the last attempt's) and every
 * attempt billed; a failure while the caller is gone is rethrown (nobody reads the stream).
 * Stopping the iteration early cancels the model stream.
 */
export function createChatStreamVerb(deps: ChatStreamDeps): ChatStreamVerb {
  const now = deps.now ?? Date.now;
  return async function* chatStream(input, ctx) {
    const call = buildChatCall(input, ctx);
    const stream = deps.pipeline.chatStream(call);
    const chunks = stream.chunks[Symbol.asyncIterator]();
    let model = "";
    let providerRequestId: string | undefined;
    let provider = "";
    // A stream the cache stage handed through (no cache on the route, or none asked) says nothing: a bypass.
    let cacheStatus: CacheStatusName = "bypass";
    let started = false;
    let finish: ModelFinishReason = "unknown";
    let tokens: TokenUsage | undefined;
    let ended = false;
    const startEvent = (): ChatStreamEvent => ({ type: "started", requestId: ctx.requestId, model, provider, cacheStatus, ...(providerRequestId === undefined ? {} : { providerRequestId }) });
    try {
      for (;;) {
        let step: IteratorResult<ModelChunk>;
        try {
          step = await chunks.next();
        } catch (err) {
          ended = true;
          const deadlinePassed = now() >= ctx.deadline;
          if (!started || (ctx.signal.aborted && !deadlinePassed)) throw err;
          const usage = await settle(stream, model, ctx, (last) => failureUsage(err) ?? last ?? emptyUsage(true));
          yield failureTerminal(err, deadlinePassed, usage);
          return;
        }
        if (step.done === true) {
          ended = true;
          break;
        }
        const chunk = step.value;
        switch (chunk.type) {
          case "start":
            model = chunk.model;
            providerRequestId = chunk.providerRequestId;
            provider = chunk.provider ?? provider;
            cacheStatus = chunk.cacheStatus ?? cacheStatus;
            break;
          case "finish":
            finish = chunk.reason;
            break;
          case "usage":
            tokens = chunk.usage;
            break;
          case "text":
          case "tool_call":
            if (!started) {
              started = true;
              yield startEvent();
            }
            yield chunk.type === "text"
              ? { type: "text", text: chunk.text }
              : {
                  type: "tool_call",
                  index: chunk.index,
                  argumentsDelta: chunk.argumentsDelta,
                  ...(chunk.id === undefined ? {} : { id: chunk.id }),
                  ...(chunk.name === undefined ? {} : { name: chunk.name }),
                };
            break;
        }
      }
      if (!started) yield startEvent();
      yield { type: "completed", finishReason: finish, usage: await settle(stream, model, ctx, () => tokens ?? emptyUsage(true)) };
    } finally {
      if (!ended) await chunks.return?.();
    }
  };
}
