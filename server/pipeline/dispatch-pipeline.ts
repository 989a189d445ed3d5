import { Code, ConnectError } from "@connectrpc/connect";
import type { AttemptRecord } from "../dispatch/attempt-record.js";
import type { Dispatcher } from "../dispatch/dispatcher.js";
import type { ResolvedRoute } from "../dispatch/route-types.js";
import type { ModelChunk, TokenUsage } from "../providers/model.js";
import type { CallMeta, ModelCallResult, ModelPipeline } from "./model-call.js";

/** Dependencies of {@link createDispatchPipeline}. */
export interface DispatchPipelineDeps {
  dispatcher: Dispatcher;
  /** Route aliases as a caller's org sees them. */
  routes: { resolve(alias: string, orgId?: string): ResolvedRoute | undefined };
  /** The cost of one attempt's usage in micro-USD (the price book). */
  cost(provider: string, model: string, usage: TokenUsage): bigint;
}

/**
 * The innermost model pipeline: resolves the call's route for the caller's org and hands the call
 * to dispatch; prices every attempt, failed ones included. Outer stages (rate limits, guardrails,
 * cache, budgets) wrap it in `server/server.ts`.
 */
export function createDispatchPipeline(deps: DispatchPipelineDeps): ModelPipeline {
  const routeOf = (meta: CallMeta): ResolvedRoute => {
    const route = deps.routes.resolve(meta.route, meta.caller?.orgId);
    if (route === undefined) throw new ConnectError(`route "${meta.route}" is not defined`, Code.NotFound);
    return route;
  };
  const priced = (attempts: readonly AttemptRecord[]): bigint =>
    attempts.reduce((sum, a) => sum + deps.cost(a.provider, a.model, a.usage), 0n);

  return {
    async chat(call) {
      const { response, attempts, target } = await deps.dispatcher.chat(routeOf(call.meta), call.request, call.meta);
      return { response, provider: target.provider, model: response.model || target.model, attempts, costMicrosUsd: priced(attempts), cacheStatus: "miss" };
    },
    chatStream(call) {
      const stream = deps.dispatcher.chatStream(routeOf(call.meta), call.request, call.meta);
      let settle!: (result: Omit<ModelCallResult, "response">) => void;
      const result = new Promise<Omit<ModelCallResult, "response">>((resolve) => (settle = resolve));
      const finish = () => {
        const attempts = stream.attempts();
        const winner = attempts.findLast((a) => a.outcome === "success") ?? attempts.at(-1);
        settle({ provider: winner?.provider ?? "", model: winner?.model ?? "", attempts, costMicrosUsd: priced(attempts), cacheStatus: "miss" });
      };
      return {
        chunks: (async function* (): AsyncGenerator<ModelChunk> {
          try {
            yield* stream.chunks;
          } finally {
            finish();
          }
        })(),
        result: () => result,
      };
    },
    async embed(call) {
      const { response, attempts, target } = await deps.dispatcher.embed(routeOf(call.meta), call.request, call.meta);
      return { response, provider: target.provider, model: response.model || target.model, attempts, costMicrosUsd: priced(attempts), cacheStatus: "miss" };
    },
  };
}
