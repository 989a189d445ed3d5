import { randomUUID } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { systemClock, type Clock } from "../clock.js";
import type { ResolvedRoute } from "../dispatch/route-types.js";
import { configurationFault } from "../errors/configuration-fault.js";
import { budgetExceededError } from "../limits/budget-error.js";
import type { BudgetAlerts } from "../limits/budget-alerts.js";
import type { ReservationRecovery } from "../limits/reservation-recovery.js";
import type { BudgetRef, BudgetReservations, CounterSeeder, Reservation } from "../limits/budget-reservation.js";
import { estimateInputTokens, estimateOutputTokens, nonAsciiUnits } from "../limits/call-estimate.js";
import { ceilDiv } from "../limits/cost.js";
import type { LimitsCatalog } from "../limits/limits-catalog.js";
import type { ModelPrice, PriceBook } from "../limits/price-table.js";
import { worstCaseMicros } from "../limits/worst-case.js";
import { afterThisTurn } from "../runtime/after-this-turn.js";
import { StateBackendUnavailableError } from "../store/state/breaker-state.js";
import type { Logger } from "../observability/logger.js";
import type { EmbedRequest, ModelChunk, ModelRequest, TokenUsage } from "../providers/model.js";
import { createAhead } from "./ahead.js";
import { afterConsumed, type FailedCallAccounting } from "./dispatch-pipeline.js";
import { type CallMeta, type CoverRetry, type EmbedCall, type ModelCall, type ModelPipeline, type ModelStreamResult, type Stage, UNSENT_STREAM_RESULT } from "./model-call.js";

/** Dependencies of {@link createBudgetStage}. */
export interface BudgetStageDeps {
  reservations: BudgetReservations;
  catalog: Pick<LimitsCatalog, "budgetsFor">;
  /** Route aliases as a caller's org sees them (to price every target a call may reach). */
  routes: { resolve(alias: string, orgId?: string): ResolvedRoute | undefined };
  prices: PriceBook;
  /** Seeds the counters of a budget's period from the ledger when they are missing (P7). */
  seeder?: CounterSeeder;
  /** Soft thresholds: told after each settle that booked spend (never waited on). */
  alerts?: Pick<BudgetAlerts, "afterSettle">;
  /** Gives back holds whose reserve or settle failed on the state backend, in the background (P7). */
  recovery?: Pick<ReservationRecovery, "abandon" | "settleLater">;
  logger: Logger;
  clock?: Clock;
}

/** Options of {@link createBudgetStage}. */
export interface BudgetStageOptions {
  /** Output tokens reserved when neither the request nor its route caps them (default 4096). */
  defaultMaxOutputTokens?: number;
  /** A model without a price under a cap: refused before dispatch (default) or admitted at cost 0. */
  unpricedModels?: "refuse" | "allow";
  /** Output tokens a stream without a cap extends its hold by, each time (default `defaultMaxOutputTokens`). */
  extendTokens?: number;
}

/** An admitted call: its reservation and what the stream extension needs. */
interface Admission {
  reservation: Reservation;
  /** Neither the request nor the route caps output: a stream extends its hold as it runs. */
  uncapped: boolean;
  /** Output tokens the hold covers so far. */
  heldOutputTokens: number;
  /** Output tokens (reasoning included) in the provider's latest mid-stream report; 0 before one. */
  reportedOutputTokens: number;
  /** Micro-USD per extension of `extendTokens`. */
  extensionMicros: bigint;
  /** What dispatch asks before an attempt that follows a failure (`coverOf`). */
  coverRetry: CoverRetry;
}

/** The budget stage, with its early start and its drain. */
export interface BudgetStage extends Stage {
  /**
   * A stage to place further out that starts the reservation of each call `when` says, before the
   * stages in between have run, so its write leaves with theirs (the requests-per-minute check)
   * and its reply comes back in the same round trip; this stage then takes it instead of
   * reserving. A reservation the call never reaches this stage to take — refused or answered on
   * the way — is given back when the call ends. Meant for calls nothing in between is likely to
   * answer without dispatch (each cache hit pays a reservation and its release). The
   * estimate is of the request as it was then: an input guardrail's redaction in between does not
   * change what is held (a placeholder for a redacted span is about as long as the span).
   */
  early(when: (meta: CallMeta) => boolean): Stage;
  /** Waits for the settles still running after their answers left (at shutdown). */
  drain(): Promise<void>;
}

/**
 * The budget stage: before dispatch it reserves the call's worst-case cost — estimated input
 * tokens (characters / 4) plus the output cap (the request's max output tokens, else the route's
 * default, else `defaultMaxOutputTokens`), priced at the dearest target the route may fall back
 * to (× the hedges a unary call may send) — on every budget that covers the caller (key, team,
 * org and tag budgets), in one atomic step; a budget that would go over refuses the call with
 * `ResourceExhausted` + `BudgetExceeded` before anything is sent (P1).
 *
 * Before each retry or fallback it extends the hold by what the failed attempts were billed, and
 * a cap that refuses stops the retries (`coverOf`).
 *
 * After the call it settles the actual cost of every attempt (the call's `costMicrosUsd`, or the
 * priced attempts of a failed call) and gives back the rest, without holding the answer back for
 * the settle's reply (`drain()` waits for settles still running, at shutdown); a call that failed before sending
 * anything gives back everything. A stream settles when it ends, however it ends. A stream whose
 * output no one capped extends its hold before it releases a piece of output that brings the
 * output so far to three quarters of the tokens held, by as many `extendTokens` as bring it back
 * under; the output so far is the larger of the provider's own count in its latest mid-stream
 * report (`reportUsage`: hidden reasoning included) and an estimate of the text and tool calls
 * received (`estimateOutputTokens`: ASCII at 4 characters a token, other characters at one).
 * When a budget refuses the extension, the stream is stopped (the provider call cancelled) before
 * that piece is released and ends with a budget error, which ChatStream reports as its
 * `budget_exhausted` terminal event, and what was generated is billed. Output the provider
 * generates with no chunk to show for it (reasoning before the first text) is seen only at the
 * next chunk: it may go past the hold, and is booked, past the cap if need be.
 *
 * After a settle that booked spend, `alerts` looks for soft thresholds crossed, in the
 * background (see `budget-alerts.ts`).
 *
 * With a `seeder`, the reservation's atomic step also makes sure each budget's counters for the
 * period start from the ledger's spend (a budget created mid-period, or Redis data lost), not from
 * zero: a budget not yet seeded is seeded and the reservation tried once more.
 *
 * Fail closed (P7): when the state backend cannot answer, the call is refused with `Unavailable`,
 * and `recovery` makes sure a reserve whose reply was lost neither keeps its hold nor lands later;
 * a settle that keeps failing is finished by `recovery` in the background;
 * a target without a price under a cap is refused with `FailedPrecondition` unless configured
 * otherwise. Calls without a caller, or covered by no budget, pass straight through.
 */
export function createBudgetStage(deps: BudgetStageDeps, opts: BudgetStageOptions = {}): BudgetStage {
  const clock = deps.clock ?? systemClock;
  const defaultMax = opts.defaultMaxOutputTokens ?? 4096;
  const extendTokens = Math.max(1, opts.extendTokens ?? defaultMax);
  const unpriced = opts.unpricedModels ?? "refuse";

  const pricesOf = (route: ResolvedRoute, at: Date): ModelPrice[] => {
    const prices: ModelPrice[] = [];
    for (const target of route.targets) {
      const quote = deps.prices.priceAt(target.provider, target.model, at);
      if (quote !== undefined) prices.push(quote.price);
      else if (unpriced === "refuse") {
        // The gateway's price table is at fault, not the request: a configuration fault.
        const err = new ConnectError(
          `model ${target.provider}/${target.model} of route "${route.alias}" has no price, and calls under a spend cap must be priced; add a price for it (or set budgets.unpricedModels to allow)`,
          Code.FailedPrecondition,
        );
        throw configurationFault(err, "model_unpriced");
      }
    }
    return prices;
  };

  /**
   * The budgets covering the call as they are now, for an extension: a cap changed since the
   * reservation (UpdateBudget) applies to the hold's next growth, not only to the next call.
   * Looked up by the call's scope rather than by the held budgets' ids, and as exact: `extend`
   * takes a budget for a line only with the line's id and counter epoch, the call's caller and
   * tags never change, and any change of a budget's scope (level, target), period or zone moves
   * its epoch — so a budget held is found here exactly while it is in force with the same
   * counters, and a deleted or re-scoped one keeps the line's cap under either lookup.
   */
  const inForce = (meta: CallMeta): readonly BudgetRef[] => (meta.caller === undefined ? [] : deps.catalog.budgetsFor(meta.caller, meta.tags));

  /** The budgets that cover the call; undefined without a caller or when none does. */
  const budgetsOf = (meta: CallMeta): BudgetRef[] | undefined => {
    if (meta.caller === undefined) return undefined;
    const budgets = deps.catalog.budgetsFor(meta.caller, meta.tags);
    return budgets.length === 0 ? undefined : budgets;
  };

  const admit = async (meta: CallMeta, request: ModelRequest | EmbedRequest, hedged: boolean, budgets = budgetsOf(meta)): Promise<Admission | undefined> => {
    const caller = meta.caller;
    if (caller === undefined || budgets === undefined) return undefined;
    const route = deps.routes.resolve(meta.route, caller.orgId);
    if (route === undefined) return undefined; // dispatch answers NotFound; nothing is sent
    const prices = pricesOf(route, new Date(clock.now()));
    const input = estimateInputTokens(request);
    const chat = !("inputs" in request);
    const routeDefault = route.defaultMaxOutputTokens;
    const requested = chat ? request.maxOutputTokens : 0;
    const maxOut = chat ? (requested ?? routeDefault ?? defaultMax) : 0;
    const hedges = hedged && route.hedge.delayMs !== undefined ? route.hedge.maxHedges : 0;
    const one = prices.length === 0 ? 0n : worstCaseMicros({ inputTokensEstimate: input, maxOutputTokens: maxOut, prices });
    const reserve = { tenant: caller.orgId, budgets, amountMicros: one * BigInt(1 + hedges), id: randomUUID(), ...(deps.seeder ? { seeder: deps.seeder } : {}) };
    // `.then`, not `await`: no suspended frame per reservation in flight (`after-call.ts`).
    return deps.reservations.reserve(reserve).then(
      (outcome): Admission => {
        if (!outcome.ok) throw budgetExceededError(outcome.refusal);
        return {
          reservation: outcome.reservation,
          coverRetry: coverOf(outcome.reservation, meta),
          uncapped: chat && requested === undefined && routeDefault === undefined,
          heldOutputTokens: maxOut,
          reportedOutputTokens: 0,
          extensionMicros: prices.length === 0 ? 0n : outputMicros(prices, input, extendTokens),
        };
      },
      (err: unknown) => {
        // The hold may still land (a lost reply, a hung connection): give it back, or bar it —
        // unless the breaker refused it, in which case it never left (no tombstone, no recovery job).
        if (!(err instanceof StateBackendUnavailableError)) deps.recovery?.abandon(reserve);
        deps.logger.warn({ err: err instanceof Error ? err.message : String(err), requestId: meta.requestId }, "budget check failed; refusing the call");
        throw new ConnectError("the budget check is unavailable, so the call was refused rather than admitted unchecked; retry shortly", Code.Unavailable);
      },
    );
  };

  /**
   * The reservation holds one attempt's worst case (× the hedges), but a failed attempt may be
   * billed too — a timeout or a broken connection at its input's estimate, a stream cut before
   * its first token at what it produced — and the retry or fallback after it may then cost the
   * worst case in full. So before each attempt that follows a failure, the hold is extended by
   * what the failed attempts were billed beyond what earlier extensions covered; a cap that
   * refuses it, or a state backend that cannot answer, stops the retries and the call fails with
   * its last failure. P1 then holds across retries and fallbacks: what a call books stays within
   * what it held (issue #11's audit: three timed-out attempts of an input-heavy call booked 3× a
   * cap that covered one).
   */
  const coverOf = (reservation: Reservation, meta: CallMeta): CoverRetry => {
    let covered = 0n;
    return (billed) => {
      const more = billed - covered;
      if (more <= 0n) return Promise.resolve(true);
      return deps.reservations.extend(reservation, more, inForce(meta)).then(
        (outcome) => {
          if (!outcome.ok) return false;
          covered = billed;
          return true;
        },
        (err: unknown) => {
          deps.logger.warn({ err: err instanceof Error ? err.message : String(err), requestId: meta.requestId }, "budget extension for a retry failed; not retrying");
          return false;
        },
      );
    };
  };

  /** Settles, retrying a failure twice; then `recovery` finishes it, or the hold over-holds until swept. */
  const settle = async (reservation: Reservation, actual: bigint, requestId: string): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      try {
        const settled = await deps.reservations.settle(reservation, actual);
        if (actual > 0n) deps.alerts?.afterSettle(reservation, settled);
        return;
      } catch (err) {
        if (attempt >= 2) {
          if (deps.recovery !== undefined) {
            deps.logger.warn({ err: err instanceof Error ? err.message : String(err), requestId, reservation: reservation.id }, "budget settle failed; finishing it in the background");
            deps.recovery.settleLater(reservation, actual);
            return;
          }
          deps.logger.warn({ err: err instanceof Error ? err.message : String(err), requestId, reservation: reservation.id }, "budget settle incomplete; the hold stays until its counters expire");
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 25 * 4 ** attempt));
      }
    }
  };

  /** Settles started after the answer left and not yet finished; `drain()` waits for them. */
  const behind = new Set<Promise<void>>();
  /**
   * Settles without holding the answer (or a stream's end) back: one Redis round trip less on
   * every budgeted call's path. The settle starts just after the answer is written, on the same
   * turn of the event loop (`afterThisTurn`), and its write is queued on the state backend there,
   * so the caller's next call — read on a later turn at the earliest — is ordered behind it; until
   * it lands the hold still covers the worst case, so admission is only ever more careful (P1).
   * Retries and `recovery` work as before, in the background. A replica drains these before it
   * stops (`behind` holds each from the moment it is owed).
   */
  const settleBehind = (reservation: Reservation, actual: bigint, requestId: string): void => {
    const running: Promise<void> = afterThisTurn()
      .then(() => settle(reservation, actual, requestId))
      .finally(() => behind.delete(running));
    behind.add(running);
  };

  /** Runs a unary call and settles its reservation with what it cost, answered or failed (nothing sent: 0). */
  const unary = <R extends FailedCallAccounting>(meta: CallMeta, admission: Admission | undefined, run: () => Promise<R>): Promise<R> =>
    admission === undefined ? run() : afterConsumed(run, (spent) => settleBehind(admission.reservation, spent?.costMicrosUsd ?? 0n, meta.requestId));

  const ahead = createAhead<Admission | undefined, BudgetRef[]>({
    plan: budgetsOf,
    begin: admit,
    giveBack(admission, meta) {
      if (admission !== undefined) settleBehind(admission.reservation, 0n, meta.requestId);
    },
  });
  /** The call's reservation: the one started ahead for it, else made now. */
  const admitted = (meta: CallMeta, request: ModelRequest | EmbedRequest, hedged: boolean, budgets?: BudgetRef[]): Promise<Admission | undefined> =>
    ahead.take(meta) ?? admit(meta, request, hedged, budgets);

  const stage: Stage = (next: ModelPipeline): ModelPipeline => ({
    chat: (call) => admitted(call.meta, call.request, true).then((admission) => unary(call.meta, admission, () => next.chat(asSent(call, admission)))),
    embed: (call) => admitted(call.meta, call.request, true).then((admission) => unary(call.meta, admission, () => next.embed(asSent(call, admission)))),
    chatStream(call) {
      // No budget covers the call: hand the stream through rather than wrap it (every wrapping
      // generator stays in memory as long as the stream is open).
      const budgets = budgetsOf(call.meta);
      if (budgets === undefined) return next.chatStream(call);
      let resolve!: (r: ModelStreamResult) => void;
      const result = new Promise<ModelStreamResult>((r) => (resolve = r));
      async function* chunks(): AsyncGenerator<ModelChunk> {
        let admission: Admission | undefined;
        try {
          admission = await admitted(call.meta, call.request, false, budgets);
        } catch (err) {
          resolve(UNSENT_STREAM_RESULT);
          throw err;
        }
        const uncapped = admission?.uncapped === true ? admission : undefined;
        const sent = asSent(call, admission); // a copy of the call whenever there is an admission
        const inner = next.chatStream(uncapped === undefined ? sent : Object.assign(sent, { reportUsage: reportsTo(uncapped) }));
        const it = inner.chunks[Symbol.asyncIterator]();
        let innerDone = false;
        // The output received so far, for the estimate (`estimateOutputTokens`): all of it, and
        // the code units outside ASCII.
        let outputChars = 0;
        let nonAscii = 0;
        let stop: ConnectError | undefined;
        try {
          for (;;) {
            let step: IteratorResult<ModelChunk>;
            try {
              step = await it.next();
            } catch (err) {
              innerDone = true;
              throw err;
            }
            if (step.done === true) {
              innerDone = true;
              break;
            }
            const chunk = step.value;
            if (uncapped !== undefined && (chunk.type === "text" || chunk.type === "tool_call")) {
              const text = chunk.type === "text" ? chunk.text : chunk.argumentsDelta + (chunk.name ?? "");
              outputChars += text.length;
              nonAscii += nonAsciiUnits(text);
              // The provider's count when it is ahead of the estimate (hidden reasoning, a script
              // the estimate under-counts). Checked before the chunk is released, not after: what
              // is released is covered, and a slow reader does not hold the extension back.
              const used = Math.max(uncapped.reportedOutputTokens, estimateOutputTokens(outputChars, nonAscii));
              if (used * 4 >= uncapped.heldOutputTokens * 3) {
                stop = await extend(uncapped, call.meta, used);
                if (stop !== undefined) break;
              }
            }
            yield chunk;
          }
        } finally {
          if (!innerDone) await it.return?.();
          const r = await inner.result();
          if (admission !== undefined) settleBehind(admission.reservation, r.costMicrosUsd, call.meta.requestId);
          resolve(r);
        }
        if (stop !== undefined) throw stop;
      }
      return { chunks: chunks(), result: () => result };
    },
  });
  return Object.assign(stage, {
    early: ahead.stage,
    async drain() {
      while (behind.size > 0) await Promise.all([...behind]);
    },
  });

  /**
   * Extends a stream's hold by the fewest `extendTokens` that bring `used` output tokens back under
   * three quarters of it (one, unless a report or a chunk jumped ahead); the error that ends the
   * stream when that is refused or fails.
   */
  async function extend(admission: Admission, meta: CallMeta, used: number): Promise<ConnectError | undefined> {
    const times = Math.floor((used * 4 - admission.heldOutputTokens * 3) / (extendTokens * 3)) + 1;
    try {
      const outcome = await deps.reservations.extend(admission.reservation, admission.extensionMicros * BigInt(times), inForce(meta));
      if (!outcome.ok) return budgetExceededError(outcome.refusal);
    } catch (err) {
      deps.logger.warn({ err: err instanceof Error ? err.message : String(err), requestId: meta.requestId }, "budget extension failed; ending the stream");
      return new ConnectError("the budget check is unavailable, so the stream was stopped rather than continued unchecked", Code.Unavailable);
    }
    admission.heldOutputTokens += extendTokens * times;
    return undefined;
  }
}

/**
 * `call` as sent: with the retries' cover and its reservation's instant. A chat request that sets
 * no output cap is sent with its route's default (what was reserved on) by dispatch
 * (`withRouteCap` in dispatch-pipeline.ts), whether or not a budget covers it.
 */
function asSent<C extends ModelCall | EmbedCall>(call: C, admission: Admission | undefined): C {
  if (admission === undefined) return call;
  // Not `{ ...call, ... }`: see `gated` in rate-limit-stage.ts.
  return Object.assign({}, call, { coverRetry: admission.coverRetry, bookedAt: admission.reservation.at });
}

/**
 * What a stream's dispatch tells of the provider's mid-stream usage reports: the latest output
 * count (each report is cumulative for its attempt, so the latest is the one that counts; a retry
 * before content starts again from its own, and what the failed attempt was billed is covered by
 * `coverRetry`).
 */
function reportsTo(admission: Admission): (usage: TokenUsage) => void {
  return (usage) => {
    admission.reportedOutputTokens = usage.outputTokens;
  };
}

/** The most `tokens` output tokens can cost on any of the targets (at the tier the input reaches). */
function outputMicros(prices: readonly ModelPrice[], inputTokens: number, tokens: number): bigint {
  let rate = 0;
  for (const price of prices) {
    const tier = price.longContext;
    const rates = tier !== undefined && inputTokens > tier.aboveInputTokens ? tier.rates : price;
    rate = Math.max(rate, rates.output, rates.reasoning);
  }
  return ceilDiv(BigInt(tokens) * BigInt(rate), 1_000_000n);
}
