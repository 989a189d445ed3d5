import { afterSettled, callSafely } from "../after-call.js";
import type { EmbedRequest, EmbedResponse, ModelChunk, ModelRequest, ModelResponse } from "../providers/model.js";
import type { Provider } from "../providers/provider.js";
import { ProviderError } from "../providers/provider-error.js";
import type { AttemptRecord } from "./attempt-record.js";
import { createBreakerRegistry, type BreakerRegistry } from "./breaker.js";
import { realSetTimer, realSleep, type CredentialUse, type DispatchEnv, type SetTimer, type Sleep } from "./dispatch-env.js";
import { openRequestScope, prepareRequest, type DispatchOptions } from "./request-scope.js";
import { createRetryBudget, type RetryBudget } from "./retry-budget.js";
import { createRetryThrottle, type RetryThrottle } from "./retry-throttle.js";
import type { ResolvedRoute, RouteTarget } from "./route-types.js";
import { dispatchStream } from "./stream-dispatch.js";
import { createTargetLoad, type TargetLoad } from "./target-load.js";
import { dispatchUnary, type UnaryCall } from "./unary-dispatch.js";
import { estimateUsageByLength, type UsageEstimator } from "./usage-estimate.js";

export type { DispatchOptions } from "./request-scope.js";
export type { CredentialUse } from "./dispatch-env.js";

/** Dependencies of {@link createDispatcher}; everything but the first two has a default. */
export interface DispatcherDeps {
  /** The adapter of a provider kind (the registry), `undefined` when none is registered. */
  provider(kind: string): Provider | undefined;
  /** A credential by name: its API key, with its settings when it has any; `undefined` when there is none. */
  credential(name: string): Promise<string | CredentialUse | undefined>;
  /**
   * The adapter of `kind` as a credential's settings configure it (`ProviderRegistry.withSettings`:
   * its own endpoint, api version, …), asked per attempt and so a map lookup; undefined, or unset:
   * the kind's own adapter (`provider`).
   */
  endpoint?(kind: string, settings: Readonly<Record<string, string>>): Provider | undefined;
  now?: () => number;
  /** Uniform in `[0, 1)`: weighted order and backoff jitter. */
  random?: () => number;
  /** Backoff waits. */
  sleep?: Sleep;
  /** Deadline, per-attempt, first-token, idle and hedge timers. */
  setTimer?: SetTimer;
  /** Shared by every request of the process; a fresh one per dispatcher by default. */
  retryBudget?: RetryBudget;
  /** Per-target retry throttling (gRPC A6), shared by every request of the process; fresh by default. */
  retryThrottle?: RetryThrottle;
  /** Shared by every request of the process; a fresh registry per dispatcher by default. */
  breakers?: BreakerRegistry;
  /** Attempts in flight and latency per target (routes' `strategy`), shared by every request of the process; fresh by default. */
  targetLoad?: TargetLoad;
  /** No attempt starts with less than this left before the deadline (default 50 ms). */
  minAttemptMs?: number;
  /** A provider's `retry-after` longer than this falls back instead of waiting (default 30 s). */
  maxRetryAfterMs?: number;
  /** Usage of attempts the provider reported none for (default: about four characters a token). */
  estimateUsage?: UsageEstimator;
}

/** A unary dispatch's answer, with every attempt it took. */
export interface DispatchResult<T> {
  response: T;
  /** Every attempt in index order, failed, skipped and cancelled ones included. */
  attempts: AttemptRecord[];
  /** The target that answered. */
  target: RouteTarget;
}

/** A streamed dispatch: its chunks and, at any time, the attempts taken so far. */
export interface DispatchStream {
  /** The answer's chunks (see `ModelChunk`); throws a `ConnectError` if the request fails. */
  chunks: AsyncIterable<ModelChunk>;
  /** Attempts ended so far, in index order; final once `chunks` has ended or thrown. */
  attempts(): AttemptRecord[];
}

/**
 * Sends model calls to a route's targets: filters out targets that cannot serve the request,
 * orders the rest (priority, then weight), retries and falls back under one deadline, a per-
 * target circuit breaker, the process's retry budget and per-target retry throttling, hedges
 * unary calls when the route says so, and records every attempt. Failures surface as
 * `ConnectError`s with a `ProviderAttempts` detail (`FailedPrecondition` + `CapabilityMissing`
 * when no target can serve the request).
 */
export interface Dispatcher {
  /** A complete chat answer; `req.model` is ignored (each target's model is used). */
  chat(route: ResolvedRoute, req: ModelRequest, opts: DispatchOptions): Promise<DispatchResult<ModelResponse>>;
  /** A streamed chat answer. Capabilities are checked at once; attempts start when `chunks` is read. */
  chatStream(route: ResolvedRoute, req: ModelRequest, opts: DispatchOptions): DispatchStream;
  /** Embeddings; `req.model` is ignored. */
  embed(route: ResolvedRoute, req: EmbedRequest, opts: DispatchOptions): Promise<DispatchResult<EmbedResponse>>;
}

/** Creates a dispatcher over the given providers, credentials and shared state. */
export function createDispatcher(deps: DispatcherDeps): Dispatcher {
  const env: DispatchEnv = {
    now: deps.now ?? Date.now,
    random: deps.random ?? Math.random,
    sleep: deps.sleep ?? realSleep,
    setTimer: deps.setTimer ?? realSetTimer,
    budget: deps.retryBudget ?? createRetryBudget(),
    throttle: deps.retryThrottle ?? createRetryThrottle(),
    breakers: deps.breakers ?? createBreakerRegistry({ now: deps.now ?? Date.now }),
    load: deps.targetLoad ?? createTargetLoad(),
    credential: (name) => deps.credential(name),
    endpoint: deps.endpoint === undefined ? () => undefined : (kind, settings) => deps.endpoint!(kind, settings),
    minAttemptMs: deps.minAttemptMs ?? 50,
    maxRetryAfterMs: deps.maxRetryAfterMs ?? 30_000,
    estimateUsage: deps.estimateUsage ?? estimateUsageByLength,
  };
  const providerOf = (kind: string): Provider | undefined => deps.provider(kind);

  function unary<T>(
    route: ResolvedRoute,
    req: ModelRequest | EmbedRequest,
    op: "chat" | "embed",
    opts: DispatchOptions,
    call: UnaryCall<T>,
  ): Promise<DispatchResult<T>> {
    // A promise chain, not an `async` function: no suspended frame per call in flight (`after-call.ts`).
    return callSafely(() => {
      const scope = openRequestScope(env, prepareRequest(env, providerOf, route, req, op, opts));
      return afterSettled(
        () => dispatchUnary(scope, call).then(({ value, candidate }) => ({ response: value, attempts: scope.log.records(), target: candidate.target })),
        () => scope.dispose(),
      );
    });
  }

  return {
    chat(route, req, opts) {
      return unary(route, req, "chat", opts, {
        invoke: (c, provider, ctx) => provider.chat({ ...req, model: c.target.model }, ctx),
        usage: (r) => r.usage,
      });
    },
    embed(route, req, opts) {
      return unary(route, req, "embed", opts, {
        invoke: (c, provider, ctx) => {
          if (!provider.embed) return Promise.reject(new ProviderError("not_found", `${c.target.provider} does not serve embeddings`));
          return provider.embed({ ...req, model: c.target.model }, ctx);
        },
        usage: (r) => r.usage,
      });
    },
    chatStream(route, req, opts) {
      const prepared = prepareRequest(env, providerOf, route, req, "chatStream", opts);
      let scope: ReturnType<typeof openRequestScope> | undefined;
      return {
        chunks: {
          [Symbol.asyncIterator]() {
            if (scope) throw new Error("the chunks of a dispatched stream can be read only once");
            scope = openRequestScope(env, prepared);
            return dispatchStream(scope, req);
          },
        },
        attempts: () => scope?.log.records() ?? [],
      };
    },
  };
}
