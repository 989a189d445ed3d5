import type { ModelChunk, ModelRequest, TokenUsage } from "../providers/model.js";
import { ProviderError } from "../providers/provider-error.js";
import { abortError, type AbortCause } from "./abort-cause.js";
import { credentialFor, openAttempt, paramsOf, raceAbort, type AttemptControl, type AttemptCredential, type FailureFacts } from "./attempt-control.js";
import type { Slot } from "./attempt-plan.js";
import type { RequestScope } from "./request-scope.js";
import type { FailureDecision } from "./retryable.js";

/**
 * How a streamed attempt ended, once its generator returns; `cause` when dispatch aborted it (a
 * timer, the deadline), which for a committed stream tells a cut from a provider failure.
 */
export type StreamAttemptResult = { ok: true } | { ok: false; err: unknown; decision: FailureDecision; cause?: AbortCause };

const isContent = (c: ModelChunk): boolean => c.type === "text" || c.type === "tool_call";

/**
 * Pulls the next chunk within `ms`, aborting the attempt for `cause` when the provider stays
 * silent longer. The timer runs only while a chunk is awaited, so a slow consumer is not
 * mistaken for an idle provider.
 */
function nextWithin(
  scope: RequestScope,
  ctl: AttemptControl,
  it: AsyncIterator<ModelChunk>,
  ms: number,
  cause: "first_token" | "idle",
  limitMs: number,
): Promise<IteratorResult<ModelChunk>> {
  const cancel = scope.env.setTimer(() => ctl.abort({ cause, ms: limitMs }), ms);
  const pulled = new Promise<IteratorResult<ModelChunk>>((resolve, reject) => {
    try {
      it.next().then(resolve, reject);
    } catch (err) {
      reject(err);
    }
  });
  return raceAbort(pulled, ctl.signal).finally(cancel);
}

/**
 * Runs one streamed attempt, yielding its chunks to the caller. Until the first content chunk
 * (text or tool call) nothing is yielded: a `start` is held back, so a failure before content
 * leaves no trace for the caller and the request may fall back. The first content chunk commits
 * the request (`scope.committed`); after that a failure is returned for the caller to throw, and
 * nothing is ever retried. Before content, the first-token limit (from the attempt's start) and
 * the idle limit apply; after it, the idle limit. A stream that ends without its `finish` is a
 * `stream_error`; one that ends without `usage` gets an estimated one. If the consumer stops
 * reading, the attempt is aborted and recorded as cancelled. An attempt that fails is billed what
 * the provider last reported of it (`CallContext.reportUsage`) when it reported anything, so a cut
 * made here, which never waits for the adapter, still bills the provider's counts.
 */
export async function* streamAttempt(scope: RequestScope, slot: Slot, req: ModelRequest): AsyncGenerator<ModelChunk, StreamAttemptResult> {
  const ctl = openAttempt(scope, slot);
  const { target } = slot.candidate;
  const firstTokenBy = slot.startedAt + target.firstTokenTimeoutMs;
  let it: AsyncIterator<ModelChunk> | undefined;
  let outputText = "";
  let usage: TokenUsage | undefined;
  // The provider's latest usage report before its `usage` chunk (`CallContext.reportUsage`): what
  // an attempt cut here is billed, rather than an estimate of the request; passed on to whoever
  // follows the stream's spend as it runs (`DispatchOptions.reportUsage`: the budget stage).
  let reported: TokenUsage | undefined;
  const listener = scope.reportUsage;
  const reportUsage = (u: TokenUsage): void => {
    reported = u;
    listener?.(u);
  };
  let finished = false;
  let sawContent = false;
  let timeToFirstTokenMs: number | undefined;
  let held: ModelChunk[] = [];
  let settled = false;
  let drained = false;
  // A `usage` chunk is the provider's final report: billed as it is should the attempt still fail.
  const facts = (): FailureFacts => ({
    outputText,
    ...(usage !== undefined ? { usage } : reported !== undefined ? { reported } : {}),
    ...(timeToFirstTokenMs === undefined ? {} : { timeToFirstTokenMs }),
  });

  try {
    let credential: AttemptCredential;
    try {
      credential = await raceAbort(credentialFor(scope, slot), ctl.signal);
    } catch (thrown) {
      const err = ctl.errorFor(thrown);
      settled = true;
      return { ok: false, err, decision: ctl.fail(err, { outputText: "", sent: false }) };
    }
    const request: ModelRequest = { ...req, model: target.model };
    const headers = slot.handle.headers;
    const { apiKey, provider } = credential;
    const params = paramsOf(slot);
    it = provider
      .chatStream(request, {
        signal: ctl.signal,
        reportUsage,
        ...(apiKey === undefined ? {} : { apiKey }),
        ...(headers === undefined ? {} : { headers }),
        ...(params === undefined ? {} : { params }),
      })
      [Symbol.asyncIterator]();
    for (;;) {
      const untilFirstToken = firstTokenBy - scope.env.now();
      const byFirstToken = !sawContent && untilFirstToken <= target.idleTimeoutMs;
      const r = byFirstToken
        ? await nextWithin(scope, ctl, it, untilFirstToken, "first_token", target.firstTokenTimeoutMs)
        : await nextWithin(scope, ctl, it, target.idleTimeoutMs, "idle", target.idleTimeoutMs);
      if (r.done) {
        drained = true;
        break;
      }
      // The start names the target serving the stream (one per attempt: a copy costs nothing).
      const chunk = r.value.type === "start" ? { ...r.value, provider: target.provider } : r.value;
      if (chunk.type === "text") outputText += chunk.text;
      else if (chunk.type === "tool_call") outputText += chunk.argumentsDelta;
      else if (chunk.type === "usage") usage = chunk.usage;
      else if (chunk.type === "finish") finished = true;
      if (!sawContent && isContent(chunk)) {
        sawContent = true;
        scope.committed = true;
        timeToFirstTokenMs = scope.env.now() - slot.startedAt;
        const before = held;
        held = [];
        yield* before;
      }
      if (sawContent) yield chunk;
      else held.push(chunk);
    }
    if (!finished) throw new ProviderError("stream_error", "the stream ended before it finished");
    yield* held;
    if (usage === undefined) {
      usage = scope.env.estimateUsage({ request: scope.request, outputText });
      yield { type: "usage", usage };
    }
    settled = true;
    ctl.succeed(usage, timeToFirstTokenMs);
    return { ok: true };
  } catch (thrown) {
    const err = ctl.errorFor(thrown);
    const cause = ctl.abortCause();
    settled = true;
    return { ok: false, err, decision: ctl.fail(err, facts()), ...(cause === undefined ? {} : { cause }) };
  } finally {
    if (!settled) {
      // The consumer stopped reading (return() while a chunk was handed over).
      const cause = { cause: "caller" } as const;
      ctl.abort(cause);
      ctl.fail(abortError(cause), facts());
    }
    // Let the adapter release its connection; never wait for it (it may be stuck).
    if (it && !drained) it.return?.()?.catch(() => {});
  }
}
