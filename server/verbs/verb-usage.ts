import { moves, type AttemptRecord } from "../dispatch/attempt-record.js";
import { reportBilledFailure } from "../pipeline/billed-failure.js";
import { failedCallAccounting } from "../pipeline/dispatch-pipeline.js";
import type { CacheStatusName, EmbedCallResult, ModelCallResult } from "../pipeline/model-call.js";
import { emptyUsage, type TokenUsage } from "../providers/model.js";
import type { PromptTemplateVersion } from "./templates/prompt-template.js";

/** What one model call contributed to a verb's usage. */
export interface CallUsage {
  /** Tokens of the answer the call returned (the winning attempt, or the cache hit's). */
  usage: TokenUsage;
  provider: string;
  model: string;
  /** Every attempt of the call, failed ones included. */
  attempts: readonly AttemptRecord[];
  /** Cost of every attempt of the call. */
  costMicrosUsd: bigint;
  cacheStatus: CacheStatusName;
}

/**
 * What a verb consumed, summed over every model call it made (map-reduce chunks, repairs). The
 * service maps it to the proto `Usage`, adding the route and request id.
 */
export interface VerbUsage {
  /** Sum of every call's tokens; `estimated` if any call's were. */
  tokens: TokenUsage;
  /** Sum of every call's cost, in micro-USD. */
  costMicrosUsd: bigint;
  /** Provider and model of the last call (the one that produced the final answer). */
  provider: string;
  model: string;
  /** Every attempt of every call, in call order, renumbered 1.. across the verb. */
  attempts: AttemptRecord[];
  /** How many times dispatch moved to another target, over all calls. */
  fallbacks: number;
  /** The calls' cache status when they agree; otherwise `miss` (some answer came from a provider). */
  cacheStatus: CacheStatusName;
  modelCalls: number;
  /** The template version the verb rendered, if any. */
  template?: { name: string; version: number; builtin: boolean };
}

/** The usage of a completed chat call. */
export function chatCallUsage(r: ModelCallResult): CallUsage {
  return { usage: r.response.usage, provider: r.provider, model: r.model, attempts: r.attempts, costMicrosUsd: r.costMicrosUsd, cacheStatus: r.cacheStatus };
}

/** The usage of a completed embeddings call. */
export function embedCallUsage(r: EmbedCallResult): CallUsage {
  return { usage: r.response.usage, provider: r.provider, model: r.model, attempts: r.attempts, costMicrosUsd: r.costMicrosUsd, cacheStatus: r.cacheStatus };
}

function addTokens(a: TokenUsage, b: TokenUsage): TokenUsage {
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    cachedInputTokens: a.cachedInputTokens + b.cachedInputTokens,
    cacheWriteInputTokens: a.cacheWriteInputTokens + b.cacheWriteInputTokens,
    reasoningTokens: a.reasoningTokens + b.reasoningTokens,
    estimated: a.estimated || b.estimated,
  };
}

/** Moves to another target: an attempt (not a hedge) on a different target than the one before, in the same call. */
function combinedCacheStatus(calls: readonly CallUsage[]): CacheStatusName {
  const first = calls[0]?.cacheStatus ?? "bypass";
  return calls.every((c) => c.cacheStatus === first) ? first : "miss";
}

/** The one place a verb's usage is summed: tokens, cost, attempts and calls of every model call. */
export function sumUsage(calls: readonly CallUsage[], template?: PromptTemplateVersion): VerbUsage {
  let tokens = emptyUsage();
  let cost = 0n;
  let fallbacks = 0;
  const attempts: AttemptRecord[] = [];
  for (const c of calls) {
    tokens = addTokens(tokens, c.usage);
    cost += c.costMicrosUsd;
    fallbacks += moves(c.attempts).fallbacks;
    for (const a of c.attempts) attempts.push({ ...a, usage: { ...a.usage }, index: attempts.length + 1 });
  }
  const last = calls.at(-1);
  return {
    tokens,
    costMicrosUsd: cost,
    provider: last?.provider ?? "",
    model: last?.model ?? "",
    attempts,
    fallbacks,
    cacheStatus: combinedCacheStatus(calls),
    modelCalls: calls.length,
    ...(template === undefined ? {} : { template: { name: template.name, version: template.version, builtin: template.builtin === true } }),
  };
}

/**
 * Collects the calls of one verb invocation, in the order they complete — those that answered and
 * those that failed after dispatch (every attempt is billed) — so the verb reports the same calls
 * whether it succeeds (`total`, the response's `usage`) or fails (`failure`).
 */
export interface UsageMeter {
  /** `call`, a chat call of the verb, metered once it settles: its usage if it answers, what it was billed if it fails. */
  chat<R extends ModelCallResult>(call: Promise<R>): Promise<R>;
  total(template?: PromptTemplateVersion): VerbUsage;
  /**
   * `err`, the verb's failure, as the caller is told it: reporting every call metered — their
   * attempts in the order `total` lists them (call order; Summarize's parallel chunk calls in the
   * order they settled), renumbered 1.., and their summed cost — in a
   * `ConnectError`'s `ProviderAttempts` (added for `route` when it had none) and to the access
   * line, as a failed single call reports its own (`billed-failure.ts`). A repair call that failed,
   * or a contract still broken after the repair, is then reported with the first call it followed.
   * The stages inside billed each call once as it passed them; this only reports. Returns `err`
   * itself; nothing metered (a failure before any call was sent) leaves it as it is.
   */
  failure(err: unknown, route: string): unknown;
}

/** What a call that failed with `err` consumed, as the stages inside report it; undefined when nothing was sent. */
function failedCallUsage(err: unknown): CallUsage | undefined {
  const spent = failedCallAccounting(err);
  if (spent === undefined || spent.attempts.length === 0) return undefined;
  const last = spent.attempts.at(-1);
  return { usage: emptyUsage(), provider: last?.provider ?? "", model: last?.model ?? "", attempts: spent.attempts, costMicrosUsd: spent.costMicrosUsd, cacheStatus: "miss" };
}

/** Creates a meter for one verb invocation. */
export function createUsageMeter(): UsageMeter {
  const calls: CallUsage[] = [];
  // A failure is metered once, however many calls rejected with the same error object.
  const failures = new WeakSet<object>();
  const addFailed = (err: unknown): void => {
    const usage = failedCallUsage(err);
    if (usage === undefined || failures.has(err as object)) return;
    failures.add(err as object);
    calls.push(usage);
  };
  return {
    chat: (call) =>
      call.then(
        (result) => {
          calls.push(chatCallUsage(result));
          return result;
        },
        (err: unknown) => {
          addFailed(err);
          throw err;
        },
      ),
    total: (template) => sumUsage(calls, template),
    failure(err, route) {
      if (typeof err !== "object" || err === null) return err;
      const { attempts, costMicrosUsd } = sumUsage(calls);
      if (attempts.length > 0) reportBilledFailure(err, { attempts, costMicrosUsd }, route);
      return err;
    },
  };
}
