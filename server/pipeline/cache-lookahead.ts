import type { LookupResult, ResponseCache } from "../cache/response-cache.js";
import { cachePlanOf, maxAgeOf, readsCache, type CachePlan, type CachePlanDeps } from "./cache-plan.js";
import type { CallMeta, EmbedCall, ModelCall, Stage } from "./model-call.js";

/** An exact-cache lookup started ahead of the cache stage, with what it was started for. */
export interface StartedLookup {
  /** The request object it was keyed on (the cache stage reuses the plan when it still has this one). */
  request: object;
  plan: CachePlan;
  lookup: Promise<LookupResult>;
}

/**
 * The exact-cache lookup of a call, started before the stages in front of the cache have run.
 *
 * The requests-per-minute check and the cache lookup are both reads of the shared state that
 * every cacheable call makes, one after the other. Started in the same tick they leave in one
 * pipelined write and come back in one round trip, so a call waits for one round trip fewer
 * before it is answered — or sent to the provider. The cache stage {@link CacheLookahead.take}s
 * the started lookup when the call reaches it, and uses it when the call's key is still the one
 * it was started with (an input guardrail that redacted the prompt changes the key: then the
 * cache stage looks up the redacted key itself, as without the lookahead).
 *
 * What it costs: a call refused in between (rate limit, guardrail block) has made one cache read
 * it did not need. Nothing is recorded or counted by the lookahead itself: statistics, hits and
 * stores stay the cache stage's.
 */
export interface CacheLookahead {
  /** Starts the lookup of every cacheable call and passes the call on at once. */
  readonly stage: Stage;
  /** The lookup started for the call of `meta`, handed out once; undefined when none was. */
  take(meta: CallMeta): StartedLookup | undefined;
}

/** Dependencies of {@link createCacheLookahead}: the cache stage's own. */
export interface CacheLookaheadDeps {
  cache: Pick<ResponseCache, "lookup">;
  routes: CachePlanDeps["routes"];
}

export function createCacheLookahead(deps: CacheLookaheadDeps): CacheLookahead {
  // By the call's meta: the stages in between pass it on as it is (a guardrail that redacts
  // replaces the request, never the meta). Gone with the call when nobody takes it.
  const started = new WeakMap<CallMeta, StartedLookup>();
  // No `onError`: a request with no key is the cache stage's to report, once.
  const planDeps: CachePlanDeps = { routes: deps.routes };

  const start = (meta: CallMeta, kind: "chat" | "embed", request: ModelCall["request"] | EmbedCall["request"]): void => {
    if (!readsCache(meta)) return;
    const plan = cachePlanOf(planDeps, meta, kind, request);
    if (plan === undefined) return;
    const lookup = deps.cache.lookup(plan.scope, plan.key, maxAgeOf(plan, meta));
    // `lookup` reports backend failures as `unavailable`; should it ever reject, a lookup nobody
    // takes (the call was refused in between) must not become an unhandled rejection.
    lookup.catch(() => undefined);
    started.set(meta, { request, plan, lookup });
  };

  return {
    stage: (next) => ({
      chat(call) {
        start(call.meta, "chat", call.request);
        return next.chat(call);
      },
      chatStream(call) {
        start(call.meta, "chat", call.request);
        return next.chatStream(call);
      },
      embed(call) {
        start(call.meta, "embed", call.request);
        return next.embed(call);
      },
    }),
    take(meta) {
      const found = started.get(meta);
      if (found !== undefined) started.delete(meta);
      return found;
    },
  };
}
