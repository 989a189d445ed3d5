import { Code, ConnectError } from "@connectrpc/connect";
import { afterCall, callSafely } from "../after-call.js";
import { answerAttempts, type AttemptRecord } from "../dispatch/attempt-record.js";
import type { ResolvedRoute } from "../dispatch/route-types.js";
import { estimateInputTokens } from "../limits/call-estimate.js";
import type { LimitsCatalog } from "../limits/limits-catalog.js";
import type { RateStanding } from "../limits/rate-standing.js";
import { rateLimitExceededError } from "../limits/rate-limit-error.js";
import type { RateLimiter, RateLimitRule, RateOutcome, RateTicket } from "../limits/rate-limiter.js";
import type { Logger } from "../observability/logger.js";
import type { EmbedRequest, ModelChunk, ModelRequest } from "../providers/model.js";
import { createAhead } from "./ahead.js";
import { afterConsumed, failedCallAccounting, type FailedCallAccounting } from "./dispatch-pipeline.js";
import { type Admitted, type CallMeta, type ModelPipeline, type ModelStreamResult, type Stage, UNSENT_STREAM_RESULT } from "./model-call.js";

/** Dependencies of {@link createRateLimitStage}. */
export interface RateLimitStageDeps {
  limiter: RateLimiter;
  catalog: Pick<LimitsCatalog, "rateRulesFor">;
  /**
   * Route aliases as a caller's org sees them: a request that sets no max output tokens is
   * counted with its route's `defaultMaxOutputTokens` (what is sent, and what the budget
   * reserves on) before `defaultMaxOutputTokens`.
   */
  routes?: { resolve(alias: string, orgId?: string): ResolvedRoute | undefined };
  logger: Logger;
}

/** Options of {@link createRateLimitStage}. */
export interface RateLimitStageOptions {
  /** Output tokens counted up front for a request that sets no max output tokens and whose route sets no default (default 4096). */
  defaultMaxOutputTokens?: number;
  /**
   * Which limits this stage enforces (default both). The gateway splits them around the cache:
   * `requests` outside it (a cache hit is still a request), `tokens` inside it (a hit uses no
   * provider capacity, so it never counts against, nor is refused by, tokens-per-minute).
   */
  dimensions?: "both" | "requests" | "tokens";
  /**
   * Where the call waits for the check (default `stage`: here, before anything inside runs).
   * `dispatch`: the stages inside start while the check is in flight — the budget's reservation
   * leaves in the same pipelined write, one round trip instead of two — and dispatch waits for
   * it before sending anything (`ModelCall.admitted`). A refusal is still this stage's error, and
   * a reservation made meanwhile is given back. Only for a stage with nothing inside it that can
   * answer without dispatch (the gateway's tokens stage, inside the cache).
   */
  waitAt?: "stage" | "dispatch";
  /**
   * Which limits the stage enforces on one call, when that depends on the call (overrides
   * `dimensions`; `none`: the call passes unchecked). Asked once per call.
   */
  dimensionsOf?: (meta: CallMeta) => Dimensions | "none";
}

type Dimensions = NonNullable<RateLimitStageOptions["dimensions"]>;

/** `rule` with only the limit of `dimensions` (the other removed); null when that leaves no limit. */
function projectRule(rule: RateLimitRule, dimensions: "requests" | "tokens"): RateLimitRule | null {
  const { requestsPerMinute, tokensPerMinute, ...rest } = rule;
  const r: RateLimitRule = { ...rest, ...(dimensions === "requests" ? { requestsPerMinute } : { tokensPerMinute }) };
  return (r.requestsPerMinute ?? 0) > 0 || (r.tokensPerMinute ?? 0) > 0 ? r : null;
}

/**
 * `rules` with only the limits of `dimensions` (the other limit removed), and those left with a
 * limit. A catalog rule object is fixed until the catalog reloads, so its projection is worked
 * out once per rule object (`memo`), not on every call.
 */
function rulesFor(rules: readonly RateLimitRule[], dimensions: Dimensions, memo: Record<"requests" | "tokens", WeakMap<RateLimitRule, RateLimitRule | null>>): RateLimitRule[] {
  if (dimensions === "both") return [...rules];
  const out: RateLimitRule[] = [];
  for (const rule of rules) {
    let projected = memo[dimensions].get(rule);
    if (projected === undefined) {
      projected = projectRule(rule, dimensions);
      memo[dimensions].set(rule, projected);
    }
    if (projected !== null) out.push(projected);
  }
  return out;
}

/** A rate-limit stage, with its early start. */
export interface RateLimitStage extends Stage {
  /**
   * A stage to place further out that starts this stage's check of each call `when` says, so it
   * shares the round trip of the stages in between (see `ahead.ts`); this stage then takes it. A
   * check the call never reaches this stage to take has its tokens given back
   * (`RateLimiter.refundTokens`): for a stage with `waitAt: "dispatch"` whose call a cache hit may
   * answer on the way.
   */
  early(when: (meta: CallMeta) => boolean): Stage;
}

/**
 * The rate-limit stage: every model call by a caller counts against the requests-per-minute and
 * tokens-per-minute limits that cover it (key, team, org and tag limits from the `rate_limits`
 * definitions, cached in-process), in the shared state, so the limits are global across replicas
 * (P5). A call over a limit is refused with `ResourceExhausted` and a `RateLimitExceeded` detail
 * carrying the retry delay, before anything further runs. One stage may enforce only one of the
 * two (`dimensions`): the gateway counts requests in front of the cache and tokens behind it, so
 * a cache hit is a request but uses no tokens-per-minute.
 *
 * Tokens are counted up front with the call's estimate (input characters / 4 plus its output
 * cap) and corrected upward once the call ends with what every attempt actually used. A verb
 * that makes several model calls (Summarize map-reduce, an Extract repair) counts each one.
 * Fail closed (P7): when the state backend cannot answer, the call is refused with `Unavailable`.
 */
export function createRateLimitStage(deps: RateLimitStageDeps, opts: RateLimitStageOptions = {}): RateLimitStage {
  const defaultMax = opts.defaultMaxOutputTokens ?? 4096;
  const dimensions = opts.dimensions ?? "both";
  const dimensionsOf = opts.dimensionsOf ?? (() => dimensions);
  const overlap = opts.waitAt === "dispatch";

  /** The rules of this stage's dimensions that cover the call (none without a caller). */
  const projections = { requests: new WeakMap<RateLimitRule, RateLimitRule | null>(), tokens: new WeakMap<RateLimitRule, RateLimitRule | null>() };
  const rulesOf = (meta: CallMeta): RateLimitRule[] => {
    if (meta.caller === undefined) return [];
    const dims = dimensionsOf(meta);
    return dims === "none" ? [] : rulesFor(deps.catalog.rateRulesFor(meta.caller, meta.tags), dims, projections);
  };

  /**
   * Checks the call. `report`: the call acts on it here and now — its ticket, its standing reported
   * on the call (`CallMeta.rateStanding`) in the same `.then`. Otherwise (a check started ahead):
   * its admission, the standing reported only once the stage takes it ({@link takeAhead}) — a
   * check whose call a cache hit answered on the way was given back, and a hit uses no tokens, so
   * it reports no tokens standing.
   */
  function check(meta: CallMeta, request: ModelRequest | EmbedRequest, rules: RateLimitRule[], report: true): Promise<RateTicket | undefined>;
  function check(meta: CallMeta, request: ModelRequest | EmbedRequest, rules: RateLimitRule[], report: false): Promise<Admission | undefined>;
  async function check(meta: CallMeta, request: ModelRequest | EmbedRequest, rules: RateLimitRule[], report: boolean): Promise<RateTicket | Admission | undefined> {
    const caller = meta.caller;
    if (caller === undefined || rules.length === 0) return undefined;
    const output = "inputs" in request ? 0 : (request.maxOutputTokens ?? deps.routes?.resolve(meta.route, caller.orgId)?.defaultMaxOutputTokens ?? defaultMax);
    // `.then`, not `await`: no suspended frame per check in flight (`after-call.ts`).
    return deps.limiter.check({ tenant: caller.orgId, rules, tokensEstimate: estimateInputTokens(request) + output, standing: meta.rateStanding !== undefined }).then(
      (outcome) => {
        if (!outcome.allowed) throw rateLimitExceededError(outcome.refusal);
        if (!report) return outcome;
        reportStanding(meta, outcome.standing);
        return outcome.ticket;
      },
      (err: unknown) => {
        deps.logger.warn({ err: err instanceof Error ? err.message : String(err), requestId: meta.requestId }, "rate-limit check failed; refusing the call");
        throw new ConnectError("the rate-limit check is unavailable, so the call was refused rather than admitted unchecked; retry shortly", Code.Unavailable);
      },
    );
  }
  const admit = (meta: CallMeta, request: ModelRequest | EmbedRequest, rules = rulesOf(meta)): Promise<RateTicket | undefined> => check(meta, request, rules, true);

  /**
   * Counts what the attempts used beyond the estimate; off the caller's path. A semantic lookup's
   * embedding attempts, reported with the call from the cache stage (inside a `requests` stage),
   * are left out: that embed call went through the stages inside as a call of its own and was
   * counted there.
   */
  const correct = (ticket: RateTicket | undefined, attempts: readonly AttemptRecord[] | undefined, requestId: string): void => {
    if (ticket === undefined || ticket.tokenRules.length === 0 || attempts === undefined) return;
    const used = answerAttempts(attempts).reduce((n, a) => n + a.usage.inputTokens + a.usage.outputTokens, 0);
    deps.limiter.correctTokens(ticket, used).catch((err: unknown) => {
      deps.logger.warn({ err: err instanceof Error ? err.message : String(err), requestId }, "rate-limit token correction failed");
    });
  };

  /** Checks started further out (`early`); a ticket never taken has its tokens given back. */
  const ahead = createAhead<Admission | undefined, RateLimitRule[]>({
    plan(meta) {
      const rules = rulesOf(meta);
      return rules.length > 0 ? rules : undefined;
    },
    begin: (meta, request, _hedged, rules) => check(meta, request, rules, false),
    giveBack(admission, meta) {
      if (admission === undefined) return;
      deps.limiter.refundTokens(admission.ticket).catch((err: unknown) => {
        deps.logger.warn({ err: err instanceof Error ? err.message : String(err), requestId: meta.requestId }, "rate-limit token refund failed");
      });
    },
  });
  /** The check started ahead for the call, taken: its ticket, its standing now reported on the call (undefined when none was started). */
  const takeAhead = (meta: CallMeta): Promise<RateTicket | undefined> | undefined =>
    ahead.take(meta)?.then((admission) => {
      reportStanding(meta, admission?.standing);
      return admission?.ticket;
    });

  // Promise chains rather than `async` functions: no suspended frame per call in flight (`after-call.ts`).
  const unary = <C extends { meta: CallMeta; request: ModelRequest | EmbedRequest; admitted?: Admitted }, R extends FailedCallAccounting>(
    call: C,
    run: (call: C) => Promise<R>,
  ): Promise<R> =>
    callSafely(() => {
      const { meta } = call;
      let admitted = takeAhead(meta);
      if (admitted === undefined) {
        const rules = rulesOf(meta);
        if (overlap && rules.length === 0) return run(call);
        admitted = admit(meta, call.request, rules);
      }
      if (!overlap) return admitted.then((ticket) => afterConsumed(() => run(call), (spent) => correct(ticket, spent?.attempts, meta.requestId)));
      const check = admitted;
      return afterCall(
        () => run(gated(call, check)),
        // Settled by now: dispatch waited for it.
        (result) =>
          verdictOf(check).then((verdict) => {
            correct(verdict.ok ? verdict.ticket : undefined, result.attempts, meta.requestId);
            return result;
          }),
        // Refused here: the inner stages stopped at dispatch (or refused on their own meanwhile);
        // the caller gets this stage's refusal, as when the check came first.
        (err) =>
          verdictOf(check).then((verdict) => {
            if (!verdict.ok) throw verdict.error;
            correct(verdict.ticket, failedCallAccounting(err)?.attempts, meta.requestId);
            throw err;
          }),
      );
    });

  const stage: Stage = (next: ModelPipeline): ModelPipeline => ({
    chat: (call) => unary(call, (c) => next.chat(c)),
    embed: (call) => unary(call, (c) => next.embed(c)),
    chatStream(call) {
      // No limit covers the call: hand the stream through rather than wrap it (every wrapping
      // generator stays in memory as long as the stream is open).
      const rules = rulesOf(call.meta);
      if (rules.length === 0) return next.chatStream(call);
      let resolve!: (r: ModelStreamResult) => void;
      const result = new Promise<ModelStreamResult>((r) => (resolve = r));
      async function* checkFirst(): AsyncGenerator<ModelChunk> {
        let ticket: RateTicket | undefined;
        try {
          ticket = await (takeAhead(call.meta) ?? admit(call.meta, call.request, rules));
        } catch (err) {
          resolve(UNSENT_STREAM_RESULT);
          throw err;
        }
        const inner = next.chatStream(call);
        try {
          yield* inner.chunks;
        } finally {
          const r = await inner.result();
          correct(ticket, r.attempts, call.meta.requestId);
          resolve(r);
        }
      }
      async function* checkAlongside(): AsyncGenerator<ModelChunk> {
        const admitted = takeAhead(call.meta) ?? admit(call.meta, call.request, rules);
        const inner = next.chatStream(gated(call, admitted));
        try {
          yield* inner.chunks;
        } catch (err) {
          const verdict = await verdictOf(admitted);
          throw verdict.ok ? err : verdict.error;
        } finally {
          const r = await inner.result();
          const verdict = await verdictOf(admitted);
          correct(verdict.ok ? verdict.ticket : undefined, r.attempts, call.meta.requestId);
          resolve(r);
        }
      }
      return { chunks: overlap ? checkAlongside() : checkFirst(), result: () => result };
    },
  });
  return Object.assign(stage, { early: ahead.stage });
}

/** Options of {@link createSplitRateLimitStages}. */
export interface SplitRateLimitOptions {
  defaultMaxOutputTokens?: number;
  /** Whether something between the two stages may answer the call without a provider (a cache hit). */
  mayAnswerBetween(meta: CallMeta): boolean;
}

/**
 * The gateway's rate limits, split around the cache: `requests` goes outside it (a cache hit is
 * still a request), `tokens` inside it (a hit uses no provider capacity, so it is neither counted
 * against tokens-per-minute nor refused by it), checking alongside the stages inside it
 * (`waitAt: "dispatch"`, the budget's reservation sharing its round trip).
 *
 * A call nothing in between can answer (`mayAnswerBetween` false: no cache on its route, or a
 * cache mode that does not read) gives the split no reason to wait for a second round trip:
 * `requests` checks both limits of it in its one check, and `tokens` lets it pass. Such a call
 * refused by an input guardrail has then counted its estimated tokens, as a call the budget
 * refuses always has.
 */
export function createSplitRateLimitStages(deps: RateLimitStageDeps, opts: SplitRateLimitOptions): { requests: Stage; tokens: RateLimitStage } {
  const both = new WeakSet<CallMeta>();
  const common = opts.defaultMaxOutputTokens === undefined ? {} : { defaultMaxOutputTokens: opts.defaultMaxOutputTokens };
  return {
    requests: createRateLimitStage(deps, {
      ...common,
      dimensions: "requests",
      dimensionsOf(meta) {
        if (opts.mayAnswerBetween(meta)) return "requests";
        both.add(meta);
        return "both";
      },
    }),
    tokens: createRateLimitStage(deps, { ...common, dimensions: "tokens", waitAt: "dispatch", dimensionsOf: (meta) => (both.has(meta) ? "none" : "tokens") }),
  };
}

/** An admitted check (the limiter's outcome as it is): its ticket, and where the call stands (when the call asked, `CallMeta.rateStanding`). */
type Admission = Extract<RateOutcome, { allowed: true }>;

/** Reports `standing` on the call, when the call asked for it (`CallMeta.rateStanding`) and the check said. */
function reportStanding(meta: CallMeta, standing: RateStanding | undefined): void {
  if (standing !== undefined && meta.rateStanding !== undefined) Object.assign(meta.rateStanding, standing);
}

/** The check's outcome without throwing: its ticket, or the refusal it rejected with. */
type Verdict = { ok: true; ticket: RateTicket | undefined } | { ok: false; error: unknown };
const verdictOf = (admitted: Promise<RateTicket | undefined>): Promise<Verdict> =>
  admitted.then(
    (ticket) => ({ ok: true, ticket }),
    (error: unknown) => ({ ok: false, error }),
  );

/** `call` with `admitted` added to what dispatch waits for (an outer stage's check included). */
function gated<C extends { admitted?: Admitted }>(call: C, admitted: Promise<unknown>): C {
  const all = call.admitted === undefined ? admitted : Promise.all([call.admitted, admitted]);
  // Nobody may be left to wait for it (the call failed inside before dispatch): never unhandled.
  all.catch(() => undefined);
  // Not `{ ...call, admitted }`: V8 11 gives a literal that starts with a spread and then adds a
  // key a new hidden class every time (bench/README.md, "Memory per call in flight").
  return Object.assign({}, call, { admitted: all });
}
