import { callSafely } from "../after-call.js";
import { mayReachModel } from "../auth/allowed-models.js";
import { answerAttempts } from "../dispatch/attempt-record.js";
import type { ResolvedRoute } from "../dispatch/route-types.js";
import { STORABLE_FINISHES, type CacheEntry } from "../cache/cache-entry.js";
import { entryKey } from "../cache/cache-layout.js";
import type { CacheStats } from "../cache/cache-stats.js";
import type { LookupResult, ResponseCache } from "../cache/response-cache.js";
import { localEmbedding, promptSignature, unit } from "../cache/semantic/local-embedding.js";
import { semanticProbeOf } from "../cache/semantic/prompt-text.js";
import type { SemanticCache, SemanticQuery, SemanticScope } from "../cache/semantic/semantic-cache.js";
import type { ModelChunk } from "../providers/model.js";
import { afterThisTurn } from "../runtime/after-this-turn.js";
import type { CacheLookahead } from "./cache-lookahead.js";
import type { HitRateGuess } from "../cache/hit-rate-guess.js";
import { cachePlanOf, maxAgeOf, type CachePlan } from "./cache-plan.js";
import { createStreamAssembler, replayChunks } from "./cache-stage-stream.js";
import { failedCallAccounting } from "./dispatch-pipeline.js";
import { withLookupBilling, withLookupBillingOnFailure, type LookupBilling } from "./semantic-lookup-billing.js";
import { UNSENT_STREAM_RESULT, type CacheStatusName, type CallMeta, type EmbedCall, type ModelCall, type ModelPipeline, type ModelStream, type ModelStreamResult, type Stage } from "./model-call.js";

/** Dependencies of {@link createCacheStage}. */
export interface CacheStageDeps {
  cache: ResponseCache;
  semantic: SemanticCache;
  stats: CacheStats;
  /** Route aliases as a caller's org sees them (the same resolver dispatch uses). */
  routes: { resolve(alias: string, orgId?: string): ResolvedRoute | undefined };
  /** Told when a semantic embedding call fails (the lookup then falls back to exact only). */
  onError?: (operation: string, err: unknown) => void;
  /** Epoch ms, for `storedAt` and max-age checks (default `Date.now`). */
  now?: () => number;
  /** Where exact lookups started ahead of this stage are taken from (`cache-lookahead.ts`); absent: none are. */
  lookahead?: Pick<CacheLookahead, "take">;
  /** Told the outcome of every lookup (hit or miss; not a bypass), for the admission's guess of the next. */
  hitRates?: Pick<HitRateGuess, "record">;
  /**
   * The output guardrail stage (the one inside this stage), run on every hit as on a provider's
   * answer: the key holds the tenant, not the caller's key nor the policies in force, so an entry
   * stored for a caller no output policy covered (or before a policy was added) must still be
   * checked — blocked or redacted — for this caller. Absent: hits are served as stored.
   */
  screen?: Stage;
}

/**
 * The route target's model that answered (its winning attempt's, as the route spells it), for the
 * entry's `target`; the result's model when no attempt says. The result's own `model` is the
 * provider's name for it (a dated snapshot), which a key's `allowed_models` never lists.
 */
function targetModelOf(result: Pick<ModelStreamResult, "model" | "attempts">): string {
  return answerAttempts(result.attempts).findLast((a) => a.outcome === "success")?.model ?? result.model;
}

/** The call's plan, with the exact lookup started for its key ahead of this stage, if one was. */
type Plan = CachePlan & { started?: Promise<LookupResult> };

/** A chat call's semantic query (undefined: exact only), and what its embedding call was billed, if one was made. */
interface SemanticProbe {
  query?: SemanticQuery;
  billed?: LookupBilling;
}
/** No semantic lookup (shared: nothing allocated for the calls of exact-only routes). */
const EXACT_ONLY: SemanticProbe = Object.freeze({});
/** What a chat call's lookup found: a usable entry, or why there is none; and what its embedding was billed, if one was made. */
type ChatLookup =
  | { entry: Extract<CacheEntry, { kind: "chat" }>; status: "hit_exact" | "hit_semantic"; lookup?: LookupBilling }
  | { status: "miss" | "bypass"; semantic?: SemanticQuery; lookup?: LookupBilling };
/** A lookup that failed: the call goes on uncached (shared, as {@link EXACT_ONLY}). */
const LOOKUP_FAILED = Object.freeze({ status: "bypass" as const });

/**
 * The response-cache stage (exact, then semantic), outside the budget stage so a hit costs 0 and
 * books nothing on a budget (a reservation started ahead of it, on a route that mostly misses, is
 * given back). A call takes part when its route has a cache TTL and the call
 * has a caller (the tenant is part of every key); otherwise it passes through as `bypass`.
 *
 * On a semantic route with an `embeddingRoute`, the lookup embeds the prompt with an embed call
 * through the stages inside (so it is reserved, settled and written to the ledger as its own call
 * under the request's id, like any Embed call); its attempts and cost are added to what the call
 * reports, hit or miss (`withLookupBilling`), so a semantic hit costs what its embedding did; and
 * to what a call that then fails reports (`withLookupBillingOnFailure`: a provider failure, a
 * budget or guardrail refusal, a failed stream), so its error shows what the ledger holds too.
 *
 * Per request (`CallMeta.cache`): `bypass` neither looks up nor stores; `no_store` looks up but
 * does not store; `refresh` skips the lookup and replaces the entry; `maxAgeMs` refuses older
 * entries. Only complete, successful answers are stored: a thrown error (a provider failure, a
 * guardrail block from the inner output stage, a budget refusal) or a stream that did not reach
 * its `finish` — cut, failed or abandoned by the caller — stores nothing, and neither does a
 * `length`, `content_filter` or `unknown` finish. Streamed calls replay a hit as a stream and
 * tee a miss, storing it only once it completed. When the StateBackend fails the call goes on
 * as a `bypass` (fail open; see `createResponseCache` for the cooldown that bounds the delay), and
 * so does a call whose lookup throws for any other reason (reported as `cache lookup`). A stream's
 * result settles on every path, whatever throws: the stages outside wait on it (the overload
 * slot, the rate limit's correction).
 */
export function createCacheStage(deps: CacheStageDeps): Stage {
  const now = deps.now ?? Date.now;
  /** The call's plan, carrying the lookup started ahead when it was started for the same key. */
  const planOf = (meta: CallMeta, kind: "chat" | "embed", request: ModelCall["request"] | EmbedCall["request"]): Plan | undefined => {
    const ahead = deps.lookahead?.take(meta);
    const plan = ahead !== undefined && ahead.request === request ? ahead.plan : cachePlanOf(deps, meta, kind, request);
    if (plan === undefined || ahead === undefined || ahead.plan.key !== plan.key) return plan;
    // Spelled out, not `{ ...plan, started }`: V8 11 gives a literal that starts with a spread and
    // then adds a key a new hidden class every time (bench/README.md, "Memory per call in flight").
    return { scope: plan.scope, route: plan.route, key: plan.key, started: ahead.lookup };
  };
  const exactLookup = (plan: Plan, meta: CallMeta): Promise<LookupResult> => plan.started ?? deps.cache.lookup(plan.scope, plan.key, maxAgeOf(plan, meta));
  const record = (plan: Plan | undefined, meta: CallMeta, status: CacheStatusName, saved?: bigint) => {
    if (plan === undefined) return;
    deps.stats.record(plan.scope.orgId, plan.scope.route, status, saved);
    // The guess is of lookups: a `refresh` call never looked, so its miss says nothing about the next lookup.
    if (status !== "bypass" && meta.cache.mode !== "refresh") deps.hitRates?.record(plan.scope.orgId, plan.scope.route, status !== "miss");
  };
  const store = async (plan: Plan, meta: CallMeta, entry: CacheEntry, semantic: SemanticQuery | undefined) => {
    if (meta.cache.mode === "no_store") return;
    const bytes = await deps.cache.store(plan.scope, plan.key, entry, plan.route.cache.ttlMs);
    if (bytes === 0) return;
    deps.stats.stored(plan.scope.orgId, plan.scope.route, bytes);
    if (semantic !== undefined) {
      await deps.semantic.add(semanticScope(plan, meta), semantic, entryKey(plan.scope.orgId, plan.scope.route, plan.key), plan.route.cache.ttlMs);
    }
  };
  /**
   * Stores without holding the answer back (one Redis round trip less on every stored call's
   * path, and at a stream's end): the entry is encoded and its write queued on the state backend
   * just after the answer is written, on the same turn (`afterThisTurn`), so a repeat that arrives
   * after the answer is ordered behind it on the backend's connection; a failed write is reported
   * as before and only costs a later miss.
   */
  const storeBehind = (plan: Plan, meta: CallMeta, entry: CacheEntry, semantic: SemanticQuery | undefined): void => {
    afterThisTurn()
      .then(() => store(plan, meta, entry, semantic))
      .catch((err: unknown) => deps.onError?.("cache store", err));
  };
  const semanticScope = (plan: Plan, meta: CallMeta): SemanticScope => ({ ...plan.scope, verb: meta.verb });
  /**
   * Whether the calling key may be served `entry`: the cache is shared across the org, so an
   * answer another key's call got from a model this key may not reach (its allowed_models) is a
   * miss for it, as if not stored (the live call then only goes to targets it may reach).
   */
  const reachable = (entry: CacheEntry, meta: CallMeta): boolean => mayReachModel(meta.allowedModels, entry.target ?? entry.model);

  /** The semantic query of a chat call on a semantic route (none: exact only), with what its embedding was billed. */
  const semanticQueryOf = async (plan: Plan, call: ModelCall, next: ModelPipeline): Promise<SemanticProbe> => {
    if (!plan.route.cache.semantic) return EXACT_ONLY;
    const probe = semanticProbeOf(call.request, call.meta.userContentMessages, {
      template: call.meta.template ?? null,
      targets: plan.route.targets.map((t) => [t.provider, t.model, t.params]),
    });
    if (probe === undefined) return EXACT_ONLY;
    let vector: Float32Array;
    let billed: LookupBilling | undefined;
    const embeddingRoute = plan.route.cache.embeddingRoute;
    if (embeddingRoute === undefined) {
      vector = localEmbedding(probe.text);
    } else {
      try {
        // The lookup's embedding route is the cache's own (set on the route by its operator), not
        // a model the caller asked for: the key's allowed_models do not restrict it.
        const { userContentMessages: _u, template: _t, acceptsAnswer: _a, allowedModels: _m, ...meta } = call.meta;
        // A lookup must cost the call its cache, never the call: handed the call's whole deadline,
        // an embedding route that hangs used all of it and the call failed unanswered. It gets half
        // the time left (the call's deadline, or its route's timeout when sooner); then it fails
        // as any failed embedding does, and the call goes on uncached.
        const start = Date.now(); // the clock of deadlines (as dispatch reads them), not `now`: entries' ages
        const deadline = Math.min(call.meta.deadline, start + plan.route.timeoutMs);
        const embedded = await next.embed({
          meta: { ...meta, verb: "embed", route: embeddingRoute, cache: { mode: "bypass" }, deadline: start + Math.max(0, Math.floor((deadline - start) / 2)) },
          request: { model: "", inputs: [probe.text], inputType: "query" },
        });
        billed = { attempts: embedded.attempts, costMicrosUsd: embedded.costMicrosUsd };
        vector = unit(Float32Array.from(embedded.response.vectors[0] ?? []));
      } catch (err) {
        deps.onError?.("semantic embedding", err);
        // The call goes on uncached; what the failed embedding still billed is reported with it.
        const spent = failedCallAccounting(err);
        return spent === undefined ? EXACT_ONLY : { billed: { attempts: spent.attempts, costMicrosUsd: spent.costMicrosUsd } };
      }
    }
    return { query: { vector, context: probe.context, signature: promptSignature(probe.text) }, ...(billed === undefined ? {} : { billed }) };
  };

  /**
   * A cached chat answer for `call`: exact first, then semantic; or the reason there is none. Either
   * way, what the semantic lookup's embedding was billed (`lookup`), for the call to report.
   * Callers fail open on a throw ({@link LOOKUP_FAILED}): no lookup path is known to throw (each
   * fails open on its own), but a throw must cost the call its cache, never the call (nor, for a
   * stream, its result).
   */
  const lookupChat = async (plan: Plan, call: ModelCall, next: ModelPipeline): Promise<ChatLookup> => {
    if (call.meta.cache.mode === "refresh") {
      const probe = await semanticQueryOf(plan, call, next);
      return { status: "miss", semantic: probe.query, lookup: probe.billed };
    }
    const exact = await exactLookup(plan, call.meta);
    if (exact.status === "unavailable") return { status: "bypass" };
    if (exact.status === "hit" && exact.entry.kind === "chat" && reachable(exact.entry, call.meta)) return { entry: exact.entry, status: "hit_exact" };
    const probe = await semanticQueryOf(plan, call, next);
    const semantic = probe.query;
    if (semantic === undefined) return { status: "miss", lookup: probe.billed };
    const scope = semanticScope(plan, call.meta);
    const hit = await deps.semantic.lookup(scope, semantic, plan.route.cache.semanticThreshold);
    if (hit !== undefined) {
      const entry = await deps.cache.read(hit.entryKey);
      if (entry?.kind === "chat" && now() - entry.storedAt <= maxAgeOf(plan, call.meta) && reachable(entry, call.meta)) return { entry, status: "hit_semantic", lookup: probe.billed };
      if (entry === undefined) deps.semantic.forget(scope, hit.entryKey);
    }
    return { status: "miss", semantic, lookup: probe.billed };
  };
  /** A hit's result: nothing answered it but the cache; only its lookup's embedding, if one was made, was billed. */
  const hitResult = (entry: CacheEntry, status: CacheStatusName, lookup?: LookupBilling): ModelStreamResult =>
    withLookupBilling(
      {
        provider: entry.provider,
        model: entry.model,
        attempts: [],
        costMicrosUsd: 0n,
        cacheStatus: status,
      },
      lookup,
    );
  /** A hit as a pipeline answering from the entry, passed through `screen` (the output guardrails) when given. */
  const screened = (entry: Extract<CacheEntry, { kind: "chat" }>, status: CacheStatusName, lookup: LookupBilling | undefined): Pick<ModelPipeline, "chat" | "chatStream"> => {
    const answer: ModelPipeline = {
      chat: () => Promise.resolve({ response: entry.response, ...hitResult(entry, status, lookup) }),
      chatStream: () => ({
        chunks: (async function* () {
          yield* replayChunks(entry.response, { model: entry.model, provider: entry.provider, cacheStatus: status });
        })(),
        result: () => Promise.resolve(hitResult(entry, status, lookup)),
      }),
      embed: () => Promise.reject(new Error("a chat hit answers no embed call")),
    };
    return deps.screen === undefined ? answer : deps.screen(answer);
  };

  return (next) => ({
    // Promise chains rather than an `async` function: no suspended frame per call in flight (`afterCall`).
    chat: (call) =>
      callSafely(() => {
        const plan = planOf(call.meta, "chat", call.request);
        if (plan === undefined || call.meta.cache.mode === "bypass") {
          record(plan, call.meta, "bypass");
          return next.chat(call).then((result) => ({ ...result, cacheStatus: "bypass" as const }));
        }
        const onFound = (found: ChatLookup) => {
          // A failure after a billed lookup reports it too (no handler for a call whose lookup billed nothing).
          const lookup = found.lookup;
          const failed =
            lookup === undefined
              ? undefined
              : (err: unknown): never => {
                  throw withLookupBillingOnFailure(err, lookup, call.meta.route);
                };
          if ("entry" in found) {
            record(plan, call.meta, found.status, found.entry.costMicrosUsd);
            const answered = screened(found.entry, found.status, found.lookup).chat(call);
            return failed === undefined ? answered : answered.catch(failed);
          }
          return next.chat(call).then((result) => {
            record(plan, call.meta, found.status);
            // The entry keeps the answer's own cost (what a later hit saves), not the lookup's.
            if (found.status === "miss" && STORABLE_FINISHES.has(result.response.finishReason) && call.meta.acceptsAnswer?.(result.response) !== false) {
              storeBehind(plan, call.meta, { kind: "chat", response: result.response, storedAt: now(), provider: result.provider, model: result.model, target: targetModelOf(result), costMicrosUsd: result.costMicrosUsd }, found.semantic);
            }
            return withLookupBilling({ ...result, cacheStatus: found.status }, found.lookup);
          }, failed);
        };
        // Failing open in the same `.then` (no `.catch` promise per call): see `lookupChat`.
        return lookupChat(plan, call, next).then(onFound, (err: unknown) => {
          deps.onError?.("cache lookup", err);
          return onFound(LOOKUP_FAILED);
        });
      }),

    chatStream(call) {
      const plan = planOf(call.meta, "chat", call.request);
      let settle!: (r: Promise<ModelStreamResult>) => void;
      const result = new Promise<ModelStreamResult>((resolve) => (settle = resolve));
      /** The provider's stream, reported as `status`; with `keep`, stored once it completed. */
      const forward = async function* (status: CacheStatusName, keep?: { plan: Plan; semantic: SemanticQuery | undefined }, lookup?: LookupBilling): AsyncGenerator<ModelChunk> {
        const inner = next.chatStream(call);
        settle(inner.result().then((r) => withLookupBilling({ ...r, cacheStatus: status }, lookup)));
        const assembled = createStreamAssembler();
        for await (const chunk of inner.chunks) {
          if (keep !== undefined) assembled.add(chunk);
          // The start says how the cache took part (one per stream: a copy costs nothing).
          yield chunk.type === "start" ? { ...chunk, cacheStatus: status } : chunk;
        }
        // Reached only when the stream ended normally and the caller read all of it.
        const response = assembled.response();
        if (keep === undefined || response === undefined || !STORABLE_FINISHES.has(response.finishReason) || call.meta.acceptsAnswer?.(response) === false) return;
        const r = await inner.result();
        const entry: CacheEntry = { kind: "chat", response, storedAt: now(), provider: r.provider, model: r.model || response.model, target: targetModelOf(r), costMicrosUsd: r.costMicrosUsd };
        storeBehind(keep.plan, call.meta, entry, keep.semantic);
      };
      if (plan === undefined || call.meta.cache.mode === "bypass") {
        record(plan, call.meta, "bypass");
        // Handed through, not wrapped: a wrapping generator stays in memory while the stream is open.
        const inner = next.chatStream(call);
        return { chunks: inner.chunks, result: () => inner.result().then((r) => ({ ...r, cacheStatus: "bypass" })) };
      }
      const chunks = async function* (): AsyncGenerator<ModelChunk> {
        let found: ChatLookup;
        try {
          found = await lookupChat(plan, call, next);
        } catch (err) {
          // Failing open: see `lookupChat`.
          deps.onError?.("cache lookup", err);
          found = LOOKUP_FAILED;
        }
        try {
          if ("entry" in found) {
            record(plan, call.meta, found.status, found.entry.costMicrosUsd);
            settle(Promise.resolve(hitResult(found.entry, found.status, found.lookup)));
            yield* screened(found.entry, found.status, found.lookup).chatStream(call).chunks;
            return;
          }
          record(plan, call.meta, found.status);
          yield* found.status === "bypass" ? forward("bypass") : forward("miss", { plan, semantic: found.semantic }, found.lookup);
        } catch (err) {
          // Nothing settled the result yet when the throw came before a stream started (a stage
          // inside that threw at once): it ends unsent, with what the lookup billed. Otherwise a no-op.
          settle(Promise.resolve(withLookupBilling(UNSENT_STREAM_RESULT, found.lookup)));
          // As the stream's result reports it (`forward`, `hitResult`), before or after content.
          throw withLookupBillingOnFailure(err, found.lookup, call.meta.route);
        }
      };
      return { chunks: chunks(), result: () => result };
    },

    async embed(call) {
      const plan = planOf(call.meta, "embed", call.request);
      if (plan === undefined || call.meta.cache.mode === "bypass") {
        record(plan, call.meta, "bypass");
        return { ...(await next.embed(call)), cacheStatus: "bypass" };
      }
      let status: "miss" | "bypass" = "miss";
      if (call.meta.cache.mode !== "refresh") {
        const exact = await exactLookup(plan, call.meta);
        if (exact.status === "hit" && exact.entry.kind === "embed" && reachable(exact.entry, call.meta)) {
          record(plan, call.meta, "hit_exact", exact.entry.costMicrosUsd);
          return { response: exact.entry.response, ...hitResult(exact.entry, "hit_exact") };
        }
        if (exact.status === "unavailable") status = "bypass";
      }
      const result = await next.embed(call);
      record(plan, call.meta, status);
      if (status === "miss") {
        storeBehind(plan, call.meta, { kind: "embed", response: result.response, storedAt: now(), provider: result.provider, model: result.model, target: targetModelOf(result), costMicrosUsd: result.costMicrosUsd }, undefined);
      }
      return { ...result, cacheStatus: status };
    },
  });
}
