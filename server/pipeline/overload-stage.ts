import { afterSettled, callSafely } from "../after-call.js";
import { createInFlightLimiter, type InFlightLimiter, type InFlightLimits, type InFlightRelease } from "../limits/in-flight-limiter.js";
import { overloadedError } from "../limits/overload-error.js";
import type { Metrics } from "../observability/metrics.js";
import { type CallMeta, type ModelPipeline, type ModelStreamResult, type Stage, UNSENT_STREAM_RESULT } from "./model-call.js";

/** Options of {@link createOverloadStage}: the caps, and the retry delay the refusal suggests. */
export interface OverloadStageOptions extends InFlightLimits {
  /** Delay a shed caller is told to wait (`retry_delay`, `retry-after`); default 1000 ms. */
  retryAfterMs?: number;
}

/** Dependencies of {@link createOverloadStage}. */
export interface OverloadStageDeps {
  /** The counters (default: a fresh limiter with the options' caps). */
  limiter?: InFlightLimiter;
  /** Where the in-flight gauge is registered (`switchboard_model_calls_in_flight`). */
  metrics?: Pick<Metrics, "addScrapeGauge">;
}

/**
 * Overload shedding (RELIABILITY P23): every model call of both front doors holds one slot of the
 * replica's in-flight cap and one of its key's, from admission until it ends — a unary call when
 * it returns or throws, a stream when it ends, fails or is cancelled. A call that finds a cap full
 * is refused at once with `ResourceExhausted` and a retry delay (see `overloadedError`); nothing
 * waits in a queue. A verb that makes several model calls holds one slot per call in flight.
 */
export function createOverloadStage(deps: OverloadStageDeps = {}, opts: OverloadStageOptions = {}): Stage {
  const limiter = deps.limiter ?? createInFlightLimiter(opts);
  const retryAfterMs = opts.retryAfterMs ?? 1_000;
  deps.metrics?.addScrapeGauge({
    name: "switchboard_model_calls_in_flight",
    help: "Model calls in flight on this replica (both front doors); calls beyond the cap are shed.",
    read: () => [{ value: limiter.inFlight() }],
  });

  const admit = (meta: CallMeta): InFlightRelease => {
    const slot = limiter.tryAcquire(meta.caller?.keyId);
    if ("refused" in slot) throw overloadedError(slot.refused, retryAfterMs);
    return slot.release;
  };
  const unary = <R>(meta: CallMeta, run: () => Promise<R>): Promise<R> =>
    callSafely(() => {
      const release = admit(meta);
      return afterSettled(run, release);
    });

  return (next: ModelPipeline): ModelPipeline => ({
    chat: (call) => unary(call.meta, () => next.chat(call)),
    embed: (call) => unary(call.meta, () => next.embed(call)),
    chatStream(call) {
      let resolve!: (r: ModelStreamResult) => void;
      const result = new Promise<ModelStreamResult>((r) => (resolve = r));
      async function* chunks() {
        let release: InFlightRelease;
        try {
          release = admit(call.meta);
        } catch (err) {
          resolve(UNSENT_STREAM_RESULT);
          throw err;
        }
        let inner: ReturnType<ModelPipeline["chatStream"]>;
        try {
          inner = next.chatStream(call);
        } catch (err) {
          release();
          resolve(UNSENT_STREAM_RESULT);
          throw err;
        }
        try {
          yield* inner.chunks;
        } finally {
          // The slot is held until the stream has settled (ended, failed or cancelled) and billed.
          try {
            resolve(await inner.result());
          } finally {
            release();
          }
        }
      }
      return { chunks: chunks(), result: () => result };
    },
  });
}
