import type { Clock } from "../clock.js";
import type { StateBackend, WindowHit, WindowHitEntry, WindowHits } from "../store/state/state-backend.js";
import type { BudgetLevelName } from "./budget-reservation.js";
import type { RateStanding } from "./rate-standing.js";

/**
 * The largest requests- or tokens-per-minute limit accepted (10^11; the `lte` rule on
 * `RateLimit` in `budget_service.proto` says the same). The sliding window computes
 * `(limit + cost) × windowMs` in doubles, which must stay below 2^53: with a one-minute window
 * that allows about 1.5 × 10^11, and this bound leaves room for any one call's token cost.
 */
export const MAX_RATE_LIMIT_PER_MINUTE = 100_000_000_000;

/** A requests-per-minute and tokens-per-minute limit on one level of the hierarchy. */
export interface RateLimitRule {
  /** Resource name (`orgs/{org}/rate-limits/{limit}`); part of the counter key. */
  id: string;
  level: BudgetLevelName;
  /** Requests per window; 0 or absent: unlimited. */
  requestsPerMinute?: number;
  /** Tokens (input + output) per window; 0 or absent: unlimited. */
  tokensPerMinute?: number;
}

/** Input of {@link RateLimiter.check}. */
export interface RateCheck {
  /** The org; the hash tag of every counter. */
  tenant: string;
  /** Every rule that applies to the caller (key, team, org, tags). */
  rules: readonly RateLimitRule[];
  /** What the request counts against requests-per-minute (default 1). */
  requests?: number;
  /**
   * The request's token estimate, counted against tokens-per-minute up front (default 0):
   * input tokens counted or estimated, plus the output cap.
   */
  tokensEstimate?: number;
  /** Also say where the admitted call stands ({@link RateOutcome}'s `standing`); default false. */
  standing?: boolean;
}

/** What a caller needs to correct the token count after the call. */
export interface RateTicket {
  readonly tenant: string;
  /** The rules whose token counters the estimate went into. */
  readonly tokenRules: readonly RateLimitRule[];
  readonly tokensEstimate: number;
  /** The fixed window the estimate was counted in (absent when no window was checked). */
  readonly window?: number;
}

/** The rule that refused, and when the same request could pass. */
export interface RateRefusal {
  rule: RateLimitRule;
  dimension: "requests" | "tokens";
  /** The limit per window. */
  limit: number;
  /** Undefined when the request alone exceeds the limit, so waiting never helps. */
  retryAfterMs?: number;
}

/** Outcome of {@link RateLimiter.check}; an admitted call asked for it also learns where it stands (its tightest window per dimension). */
export type RateOutcome = { allowed: true; ticket: RateTicket; standing?: RateStanding } | { allowed: false; refusal: RateRefusal };

/** Global requests-per-minute and tokens-per-minute limits. */
export interface RateLimiter {
  /**
   * Counts the request against every rule and admits it only if each has room; the check and
   * the count of every counter are one atomic step in the shared state, so replicas share one
   * limit (P5), and a refused request is counted nowhere. Rejects when the state backend fails;
   * the caller picks the degraded mode (P7).
   */
  check(input: RateCheck): Promise<RateOutcome>;
  /**
   * Adds what the call used beyond its estimate to the token counters (unconditionally: the
   * tokens were spent). Usage below the estimate is not given back — a call that went to the
   * provider keeps its whole estimate counted, as OpenAI counts `max_tokens` — a conservative
   * over-count (only a call that never used the provider is refunded, {@link refundTokens}).
   */
  correctTokens(ticket: RateTicket, actualTokens: number): Promise<void>;
  /**
   * Takes the ticket's token estimate back from the window it was counted in, as if it had never
   * been counted: for a call whose tokens were counted ahead and that then used no provider
   * capacity (a cache hit). Requests are not taken back: the call was still a request.
   */
  refundTokens(ticket: RateTicket): Promise<void>;
}

/** Dependencies of {@link createRateLimiter}. */
export interface RateLimiterDeps {
  state: StateBackend;
  /**
   * Clock for the windows. Leave unset in production: the backend's own clock then decides
   * (Redis `TIME`), so replicas with skewed clocks agree on window boundaries. Tests inject one.
   */
  clock?: Clock;
}

/** Options of {@link createRateLimiter}. */
export interface RateLimiterOptions {
  /** Window length (default 60 000 ms: the limits are per minute). */
  windowMs?: number;
}

/** Most specific first: the order of the windows in a check, so a tie names the narrower rule. */
const LEVEL_ORDER: Record<BudgetLevelName, number> = { key: 0, tag: 1, team: 2, org: 3 };

/** What one window of a check stands for. */
interface WindowSource {
  rule: RateLimitRule;
  dimension: RateRefusal["dimension"];
  limit: number;
}

/**
 * Requests- and tokens-per-minute limits over `StateBackend.hitWindows` (sliding-window
 * counters; see `hitWindow`'s bound: at most the limit within each window-aligned interval, under
 * twice the limit in an arbitrary one only for traffic bunched at a window's end).
 *
 * A check is one all-or-nothing step over every window that covers the caller — each level (key,
 * tag, team, org) and both dimensions — so it costs one round trip however many limits apply, and
 * a refused request is counted nowhere: it never eats a sibling's or its own org's limit. The
 * refusal names the window the caller must wait longest for (the narrowest level on a tie), since
 * the request passes only once every window has room.
 *
 * Tokens are counted with the estimate at check time and corrected upward after the call
 * ({@link RateLimiter.correctTokens}). Within a window-aligned interval the tokens counted are
 * therefore at most `tokensPerMinute` plus the corrections that land in it, i.e. the
 * under-estimates of the requests in flight; with an estimate of input plus the output cap, the
 * only under-estimate left is that of the input count.
 */
export function createRateLimiter(deps: RateLimiterDeps, opts: RateLimiterOptions = {}): RateLimiter {
  const windowMs = opts.windowMs ?? 60_000;
  const nowMs = (): number | undefined => deps.clock?.now();
  /** The largest limit the window arithmetic takes for a hit of `cost` ((limit + cost) × windowMs < 2^53). */
  const ceiling = (cost: number): number => Math.max(0, Math.floor(Number.MAX_SAFE_INTEGER / windowMs) - cost);
  // A limit stored before MAX_RATE_LIMIT_PER_MINUTE was enforced may be too large for the window
  // arithmetic, which would fail every call under it: clamp it to the largest that fits. That is
  // still far beyond any real traffic (effectively unlimited), but the hit is still counted.
  const fitting = (stored: number, cost: number): number => Math.min(stored, ceiling(cost));

  /** The check's outcome from the windows' reply (undefined: no window covered it). */
  const outcomeOf = (
    check: { input: RateCheck; sources: readonly WindowSource[]; tokenRules: RateLimitRule[]; tokens: number },
    outcome: WindowHits | undefined,
  ): RateOutcome => {
    const { input, sources, tokenRules, tokens } = check;
    if (outcome?.admitted === false) {
      const refusals: RateRefusal[] = [];
      outcome.hits.forEach((hit, i) => {
        if (hit.allowed) return;
        const { rule, dimension, limit } = sources[i]!;
        refusals.push({ rule, dimension, limit, ...(hit.retryAfterMs >= 0 ? { retryAfterMs: hit.retryAfterMs } : {}) });
      });
      return { allowed: false, refusal: longestWait(refusals) };
    }
    const ticket: RateTicket = Object.freeze({ tenant: input.tenant, tokenRules: Object.freeze(tokenRules), tokensEstimate: tokens, window: outcome?.window });
    if (input.standing !== true) return { allowed: true, ticket };
    if (outcome === undefined) return { allowed: true, ticket, standing: {} };
    return { allowed: true, ticket, standing: standingOf(sources, outcome.hits, windowMs, outcome.window, deps.clock?.now() ?? Date.now()) };
  };

  return {
    async check(input) {
      const requests = input.requests ?? 1;
      const tokens = input.tokensEstimate ?? 0;
      const entries: WindowHitEntry[] = [];
      const sources: WindowSource[] = [];
      const tokenRules: RateLimitRule[] = [];
      const add = (rule: RateLimitRule, dimension: RateRefusal["dimension"], stored: number, cost: number): void => {
        const limit = fitting(stored, cost);
        entries.push({ key: windowKey(input.tenant, rule.id, dimension), cost, limit });
        sources.push({ rule, dimension, limit });
      };
      for (const rule of narrowestFirst(input.rules)) {
        if (positive(rule.requestsPerMinute)) add(rule, "requests", rule.requestsPerMinute, requests);
        if (positive(rule.tokensPerMinute)) {
          tokenRules.push(rule);
          add(rule, "tokens", rule.tokensPerMinute, tokens);
        }
      }
      const check = { input, sources, tokenRules, tokens };
      // `.then`, not `await`: no suspended frame per check in flight (`after-call.ts`).
      if (entries.length === 0) return outcomeOf(check, undefined);
      return deps.state.hitWindows(entries, windowMs, nowMs()).then((hits) => outcomeOf(check, hits));
    },

    async refundTokens(ticket) {
      if (ticket.tokenRules.length === 0 || ticket.window === undefined || !(ticket.tokensEstimate > 0)) return;
      await deps.state.unhitWindows(
        ticket.tokenRules.map((rule) => ({ key: windowKey(ticket.tenant, rule.id, "tokens"), cost: ticket.tokensEstimate })),
        windowMs,
        ticket.window,
      );
    },

    async correctTokens(ticket, actualTokens) {
      const extra = actualTokens - ticket.tokensEstimate;
      if (!(extra > 0) || ticket.tokenRules.length === 0) return;
      const cost = Math.ceil(extra);
      // The highest limit there is, so it always admits: the tokens were spent, they count regardless.
      await deps.state.hitWindows(
        ticket.tokenRules.map((rule) => ({ key: windowKey(ticket.tenant, rule.id, "tokens"), cost, limit: ceiling(cost) })),
        windowMs,
        nowMs(),
      );
    },
  };
}

/**
 * The tightest window per dimension of an admitted check: the least left (the narrowest level on
 * a tie, `sources` being narrowest first). The call was just counted in fixed window `window`, so
 * by the sliding window's arithmetic what is counted now has gone two windows minus the time
 * already elapsed in that one from now. Elapsed time is read on the gateway's clock, from the
 * start of the window the backend decided in (with Redis deciding on its own, `TIME`), and held
 * within it: a clock skew between them then shifts the reset by at most the skew. (Reading the
 * elapsed time within the gateway's own window put a gateway 1 s ahead, just past a boundary the
 * backend had not reached yet, a whole window off.)
 */
function standingOf(sources: readonly WindowSource[], hits: readonly WindowHit[], windowMs: number, window: number | undefined, nowMs: number): RateStanding {
  const standing: RateStanding = {};
  const elapsed = window === undefined ? nowMs % windowMs : Math.min(windowMs, Math.max(0, nowMs - window * windowMs));
  const resetMs = 2 * windowMs - elapsed;
  sources.forEach(({ dimension, limit }, i) => {
    const remaining = Math.max(0, limit - hits[i]!.count);
    const held = standing[dimension];
    if (held === undefined || remaining < held.remaining) standing[dimension] = { limit, remaining, resetMs };
  });
  return standing;
}

/** The window counter of one rule and dimension. */
export function windowKey(tenant: string, ruleId: string, dimension: RateRefusal["dimension"]): string {
  return `ratelimit:{${tenant}}:${ruleId}:${dimension === "requests" ? "rpm" : "tpm"}`;
}

const positive = (n: number | undefined): n is number => n !== undefined && n > 0;

/** `rules` narrowest level first, each rule once (a rule reached twice, through two tags, counts once). */
function narrowestFirst(rules: readonly RateLimitRule[]): readonly RateLimitRule[] {
  if (rules.length < 2) return rules;
  const seen = new Set<string>();
  return rules.filter((rule) => !seen.has(rule.id) && seen.add(rule.id)).sort((a, b) => LEVEL_ORDER[a.level] - LEVEL_ORDER[b.level]);
}

/** Among refusals, the one the caller must wait longest for (never, if any says so). */
function longestWait(refusals: readonly RateRefusal[]): RateRefusal {
  return refusals.reduce((worst, r) => {
    if (worst.retryAfterMs === undefined) return worst;
    if (r.retryAfterMs === undefined || r.retryAfterMs > worst.retryAfterMs) return r;
    return worst;
  });
}
