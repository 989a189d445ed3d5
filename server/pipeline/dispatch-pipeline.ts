import { Code, ConnectError } from "@connectrpc/connect";
import { afterCall } from "../after-call.js";
import { noReachableTarget, reachableTargets } from "../auth/allowed-models.js";
import { attemptsOf, type AttemptObserver, type AttemptRecord } from "../dispatch/attempt-record.js";
import type { DispatchOptions, Dispatcher } from "../dispatch/dispatcher.js";
import type { ResolvedRoute, RouteTarget } from "../dispatch/route-types.js";
import type { ModelChunk, ModelRequest, TokenUsage } from "../providers/model.js";
import type { Admitted, CallMeta, CoverRetry, ModelPipeline, ModelStreamResult } from "./model-call.js";

/** What a failed call consumed: every attempt, priced. */
export interface FailedCallAccounting {
  attempts: readonly AttemptRecord[];
  costMicrosUsd: bigint;
}

const failedCalls = new WeakMap<object, FailedCallAccounting>();

/**
 * The attempts and cost of a model call that failed with `err` (every attempt is billed, failed
 * ones too), for the budget settle and the usage ledger in the outer stages. Undefined when the
 * error did not come from dispatch (nothing was sent).
 */
export function failedCallAccounting(err: unknown): FailedCallAccounting | undefined {
  return typeof err === "object" && err !== null ? failedCalls.get(err) : undefined;
}

/**
 * Replaces what the call that failed with `err` reports it consumed, for the stages outside the
 * one that calls this (and the access line): the cache stage adds its semantic lookup's embedding.
 * The stages inside have read theirs by then — they settle and record as the error passes them —
 * so nothing is billed twice.
 */
export function reportFailedCall(err: object, accounting: FailedCallAccounting): void {
  failedCalls.set(err, accounting);
}

/**
 * `run()`'s promise with `consumed` told what the call consumed once it settles — its result (every
 * attempt, priced), or a failure's {@link failedCallAccounting} (undefined when nothing was sent) —
 * before the outcome is passed on. For the stages that account for a call either way (rate-limit
 * correction, budget settle, credential alarm), without a suspended frame (`after-call.ts`).
 */
export function afterConsumed<R extends FailedCallAccounting>(run: () => Promise<R>, consumed: (spent: FailedCallAccounting | undefined) => void): Promise<R> {
  return afterCall(
    run,
    (result) => {
      consumed(result);
      return result;
    },
    (err: unknown) => {
      consumed(failedCallAccounting(err));
      throw err;
    },
  );
}

/** Dependencies of {@link createDispatchPipeline}. */
export interface DispatchPipelineDeps {
  dispatcher: Dispatcher;
  /** Route aliases as a caller's org sees them. */
  routes: { resolve(alias: string, orgId?: string): ResolvedRoute | undefined };
  /** The cost of one attempt's usage in micro-USD (the price book). */
  cost(provider: string, model: string, usage: TokenUsage): bigint;
  /** An observer of the call's provider attempts (tracing: a span each, trace context sent along). */
  observeAttempts?: (meta: CallMeta, operation: "chat" | "embeddings") => AttemptObserver | undefined;
}

/**
 * The innermost model pipeline: resolves the call's route for the caller's org and hands the call
 * to dispatch; prices every attempt, failed ones included. Outer stages (rate limits, guardrails,
 * cache, budgets) wrap it in `server/server.ts`.
 */
export function createDispatchPipeline(deps: DispatchPipelineDeps): ModelPipeline {
  /**
   * The call's route, with only the targets the calling key may reach (its allowed_models): the
   * first pick, fallbacks and hedges all come from them. The front doors refuse a route none of
   * whose targets it may reach before any budget is held; this refusal is for a route changed since.
   */
  const routeOf = (meta: CallMeta): ResolvedRoute => {
    const route = deps.routes.resolve(meta.route, meta.caller?.orgId);
    if (route === undefined) throw new ConnectError(`route "${meta.route}" is not defined`, Code.NotFound);
    const targets = reachableTargets(route.targets, meta.allowedModels);
    if (targets === route.targets) return route;
    if (targets.length === 0) throw noReachableTarget(meta.route, meta.allowedModels!);
    return { ...route, targets: [...targets] };
  };
  const priced = (attempts: readonly AttemptRecord[]): bigint =>
    attempts.reduce((sum, a) => sum + deps.cost(a.provider, a.model, a.usage), 0n);
  const options = (call: { meta: CallMeta; coverRetry?: CoverRetry; reportUsage?: (usage: TokenUsage) => void }, operation: "chat" | "embeddings"): DispatchOptions => {
    const { meta, coverRetry, reportUsage } = call;
    const observer = deps.observeAttempts?.(meta, operation);
    if (observer === undefined && coverRetry === undefined && reportUsage === undefined) return meta;
    return {
      signal: meta.signal,
      deadline: meta.deadline,
      ...(observer === undefined ? {} : { observer }),
      ...(coverRetry === undefined ? {} : { beforeRetry: (attempts: readonly AttemptRecord[]) => coverRetry(priced(attempts)) }),
      ...(reportUsage === undefined ? {} : { reportUsage }),
    };
  };
  /** Rethrows a dispatch failure with its priced attempts registered for the outer stages. */
  const account = (err: unknown): never => {
    const attempts = attemptsOf(err);
    if (attempts !== undefined && typeof err === "object" && err !== null) reportFailedCall(err, { attempts, costMicrosUsd: priced(attempts) });
    throw err;
  };

  /** Sends a unary call once a check still in flight admitted it; prices every attempt. */
  const unary = <R extends { model: string }>(call: { admitted?: Admitted }, send: () => Promise<{ response: R; attempts: readonly AttemptRecord[]; target: RouteTarget }>) =>
    afterCall(
      () => (call.admitted === undefined ? send() : call.admitted.then(send)),
      ({ response, attempts, target }) => ({ response, provider: target.provider, model: response.model || target.model, attempts, costMicrosUsd: priced(attempts), cacheStatus: "miss" as const }),
      account,
    );

  return {
    chat: (call) =>
      unary(call, () => {
        const route = routeOf(call.meta);
        return deps.dispatcher.chat(route, withRouteCap(route, call.request), options(call, "chat"));
      }),
    chatStream(call) {
      const open = () => {
        const route = routeOf(call.meta);
        return deps.dispatcher.chatStream(route, withRouteCap(route, call.request), options(call, "chat"));
      };
      // Opened at once, unless a check still in flight must admit the call first. A refusal before
      // any attempt (no route, no capable target, a prompt over every window) is thrown by the
      // chunks, so the stream still ends and its result still settles (outer stages wait for it).
      let stream: ReturnType<typeof open> | undefined;
      let refused: { err: unknown } | undefined;
      if (call.admitted === undefined) {
        try {
          stream = open();
        } catch (err) {
          refused = { err };
        }
      }
      let settle!: (result: ModelStreamResult) => void;
      const result = new Promise<ModelStreamResult>((resolve) => (settle = resolve));
      const finish = () => {
        const attempts = stream?.attempts() ?? [];
        const winner = attempts.findLast((a) => a.outcome === "success") ?? attempts.at(-1);
        settle({ provider: winner?.provider ?? "", model: winner?.model ?? "", attempts, costMicrosUsd: priced(attempts), cacheStatus: "miss" });
      };
      return {
        chunks: (async function* (): AsyncGenerator<ModelChunk> {
          try {
            if (refused !== undefined) throw refused.err;
            if (stream === undefined) {
              await call.admitted;
              stream = open();
            }
            yield* stream.chunks;
          } catch (err) {
            account(err);
          } finally {
            finish();
          }
        })(),
        result: () => result,
      };
    },
    embed: (call) => unary(call, () => deps.dispatcher.embed(routeOf(call.meta), call.request, options(call, "embeddings"))),
  };
}

/**
 * `request` with its route's default max output tokens when it sets none (route_service.proto:
 * "Default max output tokens when a request sets none"), whether or not a budget covers the call
 * (the budget stage sets the same value on the calls it reserves for).
 */
function withRouteCap(route: ResolvedRoute, request: ModelRequest): ModelRequest {
  if (request.maxOutputTokens !== undefined || route.defaultMaxOutputTokens === undefined) return request;
  return { ...request, maxOutputTokens: route.defaultMaxOutputTokens };
}
