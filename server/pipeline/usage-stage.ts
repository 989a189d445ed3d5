import { randomUUID } from "node:crypto";
import { afterCall, callSafely } from "../after-call.js";
import { systemClock, type Clock } from "../clock.js";
import type { AttemptRecord } from "../dispatch/attempt-record.js";
import { ledgerFullError } from "../limits/ledger-full-error.js";
import type { LedgerWriter } from "../limits/ledger-writer.js";
import type { Logger } from "../observability/logger.js";
import type { ModelChunk, TokenUsage } from "../providers/model.js";
import type { UsageRecordRow } from "../store/usage-store.js";
import { failedCallAccounting } from "./dispatch-pipeline.js";
import { type CacheStatusName, type CallMeta, type EmbedCall, type ModelCall, type ModelPipeline, type ModelStreamResult, type Stage, UNSENT_STREAM_RESULT } from "./model-call.js";

/** Dependencies of {@link createUsageStage}. */
export interface UsageStageDeps {
  ledger: Pick<LedgerWriter, "append" | "hasCapacity" | "retryDelayMs">;
  /** The cost of one attempt (the same function dispatch prices attempts with). */
  cost(provider: string, model: string, usage: TokenUsage): bigint;
  /** The price-table version a call made at `at` is priced with ("unpriced" when none). */
  priceVersion(provider: string, model: string, at: Date): string;
  logger: Logger;
  clock?: Clock;
  /** Id of each model call (default: a random UUID). */
  newCallId?: () => string;
}

/**
 * The usage stage: innermost, just outside dispatch. It writes one ledger record per attempt of
 * every model call made for a caller — successes and failures alike, streams at their end,
 * however they end (completed, cut, cancelled by the client). Cache hits never get here (the
 * cache stage answers them further out); `createCacheHitUsageStage` records them, with attempt 0.
 * Attempts skipped by an open circuit breaker sent nothing and are not billed.
 * The records are in the durable buffer (see `ledger-writer.ts`) before the call returns.
 *
 * Each call gets a gateway-made call id; `(call id, attempt)` is the ledger's unique key, so the
 * records of one call are written once however often they are replayed.
 *
 * A record's time is when its call was admitted: the instant of its budget reservation when one
 * was made (`ModelCall.bookedAt`), else when the call reached this stage. So a call that runs
 * across the end of a budget period counts in the period it was admitted in — in the ledger
 * (`GetBudgetStatus`, the counters' seed) as in the counters its settle books.
 *
 * Shedding (P4): when the buffer cannot take more (Postgres unreachable long enough for the
 * backlog to reach its bound, or the buffer's disk failing), new paid calls are refused with
 * `Unavailable` before anything is sent, rather than records dropped, with the writer's retry
 * delay as `google.rpc.RetryInfo` (`ledger-full-error.ts`). Calls already running always get
 * their records written.
 */
export function createUsageStage(deps: UsageStageDeps): Stage {
  const clock = deps.clock ?? systemClock;
  const newCallId = deps.newCallId ?? randomUUID;

  /** When `call` was admitted: its budget reservation's instant, else now. */
  const admittedAt = (call: ModelCall | EmbedCall): Date => call.bookedAt ?? new Date(clock.now());

  const admit = (): void => {
    if (!deps.ledger.hasCapacity()) throw ledgerFullError(deps.ledger.retryDelayMs());
  };

  const write = async (meta: CallMeta, callId: string, at: Date, attempts: readonly AttemptRecord[], hit?: { provider: string; model: string; cacheStatus: CacheStatusName }): Promise<void> => {
    const caller = meta.caller!;
    // Priced now, as `deps.cost` prices (the version names the prices the cost was computed with).
    const pricedAt = new Date(clock.now());
    const tags = { ...meta.tags };
    const template = meta.template === undefined ? undefined : { ...meta.template };
    // One literal per record, in the ledger line's field order, the call's tags and template
    // shared by its records as before (no spread of a shared base plus 14 added fields).
    const records: UsageRecordRow[] = [];
    for (const a of attempts) {
      if (a.outcome === "circuit_open") continue;
      const row: UsageRecordRow = {
        callId,
        requestId: meta.requestId,
        orgId: caller.orgId,
        teamId: caller.teamId,
        keyId: caller.keyId,
        route: meta.route,
        verb: meta.verb,
        tags,
        ...(template === undefined ? {} : { template }),
        occurredAt: at,
        attempt: a.index,
        provider: a.provider,
        model: a.model,
        outcome: a.outcome,
        inputTokens: a.usage.inputTokens,
        outputTokens: a.usage.outputTokens,
        cachedInputTokens: a.usage.cachedInputTokens,
        cacheWriteInputTokens: a.usage.cacheWriteInputTokens,
        reasoningTokens: a.usage.reasoningTokens,
        costMicros: deps.cost(a.provider, a.model, a.usage),
        priceVersion: deps.priceVersion(a.provider, a.model, pricedAt),
        estimated: a.usage.estimated,
        cacheStatus: hit?.cacheStatus ?? "miss",
      };
      records.push(row);
    }
    try {
      await deps.ledger.append(records);
    } catch (err) {
      // Only a writer closed by shutdown rejects; the attempts are in the request's Usage and logs.
      deps.logger.error({ err, callId, requestId: meta.requestId, records: records.length }, "usage records could not be buffered");
    }
  };

  /** Runs a unary call, writing its records on success and on failure. */
  const unary = <R extends { attempts: readonly AttemptRecord[]; provider: string; model: string; cacheStatus: CacheStatusName }>(
    call: ModelCall | EmbedCall,
    run: () => Promise<R>,
  ): Promise<R> => {
    const { meta } = call;
    if (meta.caller === undefined) return run();
    return callSafely(() => {
      admit();
      const callId = newCallId();
      const at = admittedAt(call);
      return afterCall(
        run,
        (result) => write(meta, callId, at, result.attempts, result).then(() => result),
        (err) => {
          const accounting = failedCallAccounting(err);
          if (accounting === undefined) throw err;
          return write(meta, callId, at, accounting.attempts).then(() => {
            throw err;
          });
        },
      );
    });
  };

  return (next: ModelPipeline): ModelPipeline => ({
    chat: (call) => unary(call, () => next.chat(call)),
    embed: (call) => unary(call, () => next.embed(call)),
    chatStream(call) {
      if (call.meta.caller === undefined) return next.chatStream(call);
      let settle!: (r: ModelStreamResult) => void;
      const result = new Promise<ModelStreamResult>((resolve) => (settle = resolve));
      async function* chunks(): AsyncGenerator<ModelChunk> {
        try {
          admit();
        } catch (err) {
          settle(UNSENT_STREAM_RESULT);
          throw err;
        }
        const callId = newCallId();
        const at = admittedAt(call);
        const inner = next.chatStream(call);
        try {
          yield* inner.chunks;
        } finally {
          // Reached however the stream ends; the inner stream has started, so its result comes.
          const r = await inner.result();
          await write(call.meta, callId, at, r.attempts, r);
          settle(r);
        }
      }
      return { chunks: chunks(), result: () => result };
    },
  });
}
