import { randomUUID } from "node:crypto";
import { afterCall } from "../after-call.js";
import { systemClock, type Clock } from "../clock.js";
import type { LedgerWriter } from "../limits/ledger-writer.js";
import type { Logger } from "../observability/logger.js";
import type { ModelChunk } from "../providers/model.js";
import type { UsageRecordRow } from "../store/usage-store.js";
import type { CacheStatusName, CallMeta, ModelCallResult, ModelPipeline, Stage } from "./model-call.js";

/** Dependencies of {@link createCacheHitUsageStage}. */
export interface CacheHitUsageStageDeps {
  ledger: Pick<LedgerWriter, "append">;
  logger: Logger;
  clock?: Clock;
  /** Id of each answered hit (default: a random UUID); the ledger's unique key is (call id, 0). */
  newCallId?: () => string;
}

/** The price version of a hit row: nothing was priced, nothing was paid. */
export const CACHE_HIT_PRICE_VERSION = "cache";

type Outcome = Pick<ModelCallResult, "provider" | "model" | "cacheStatus">;

const isHit = (status: CacheStatusName): boolean => status === "hit_exact" || status === "hit_semantic";

/**
 * Ledger rows for cache hits. It sits just outside the cache stage: a hit answers there and
 * never reaches the budget stage (nothing is reserved) or the usage stage (which records provider
 * attempts), so this stage writes the hit's one row — attempt 0, 0 tokens, cost 0, the hit's
 * `cache_status` — and reports and finance see every answered call, paid or not. Misses and
 * bypasses pass through untouched (their attempts are recorded by the usage stage inside), and so
 * do calls without a caller. Hits are never shed when the ledger's buffer is full: they cost
 * nothing, and the row is appended before the call returns like any other.
 */
export function createCacheHitUsageStage(deps: CacheHitUsageStageDeps): Stage {
  const clock = deps.clock ?? systemClock;
  const newCallId = deps.newCallId ?? randomUUID;

  const record = async (meta: CallMeta, hit: Outcome): Promise<void> => {
    const caller = meta.caller;
    if (caller === undefined || !isHit(hit.cacheStatus)) return;
    const row: UsageRecordRow = {
      callId: newCallId(),
      attempt: 0,
      requestId: meta.requestId,
      orgId: caller.orgId,
      teamId: caller.teamId,
      keyId: caller.keyId,
      route: meta.route,
      provider: hit.provider,
      model: hit.model,
      verb: meta.verb,
      outcome: "success",
      inputTokens: 0,
      outputTokens: 0,
      cachedInputTokens: 0,
      cacheWriteInputTokens: 0,
      reasoningTokens: 0,
      costMicros: 0n,
      priceVersion: CACHE_HIT_PRICE_VERSION,
      estimated: false,
      cacheStatus: hit.cacheStatus,
      tags: { ...meta.tags },
      ...(meta.template === undefined ? {} : { template: { ...meta.template } }),
      occurredAt: new Date(clock.now()),
    };
    try {
      await deps.ledger.append([row]);
    } catch (err) {
      // Only a writer closed by shutdown rejects; a hit bills nothing, so the answer still goes out.
      deps.logger.error({ err, requestId: meta.requestId }, "cache-hit usage record could not be buffered");
    }
  };

  /** The result once its hit is recorded (a miss is handed on at once). */
  const recorded = (meta: CallMeta) => <R extends Outcome>(result: R): R | Promise<R> =>
    meta.caller === undefined || !isHit(result.cacheStatus) ? result : record(meta, result).then(() => result);

  return (next: ModelPipeline): ModelPipeline => ({
    chat: (call) => afterCall(() => next.chat(call), recorded(call.meta)),
    embed: (call) => afterCall(() => next.embed(call), recorded(call.meta)),
    chatStream(call) {
      if (call.meta.caller === undefined) return next.chatStream(call);
      const inner = next.chatStream(call);
      async function* chunks(): AsyncGenerator<ModelChunk> {
        try {
          yield* inner.chunks;
        } finally {
          // The inner stream has started, so its result comes; a replayed hit is recorded
          // however far the caller read it.
          const r = await inner.result().catch(() => undefined);
          if (r !== undefined) await record(call.meta, r);
        }
      }
      return { chunks: chunks(), result: () => inner.result() };
    },
  });
}
