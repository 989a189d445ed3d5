import type { ModelRequest } from "../../providers/model.js";
import { createDispatcher, type Dispatcher, type DispatcherDeps } from "../dispatcher.js";
import { createRetryBudget, type RetryBudget } from "../retry-budget.js";
import { withDefaults, type RouteInput, type ResolvedRoute } from "../route-types.js";
import type { Provider } from "../../providers/provider.js";

/** A deterministic `[0, 1)` generator (mulberry32) for reproducible tests. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A dispatcher over provider doubles (looked up by kind) with no credentials and no real waits. */
export function dispatcherOver(providers: Provider[], deps: Partial<DispatcherDeps> = {}): Dispatcher {
  const byKind = new Map(providers.map((p) => [p.kind, p]));
  return createDispatcher({
    provider: (kind) => byKind.get(kind),
    credential: async (name) => `key-for-${name}`,
    random: seededRandom(1),
    sleep: async () => {},
    ...deps,
  });
}

/** A route over the given targets with defaults filled. */
export function route(targets: RouteInput["targets"], rest: Omit<RouteInput, "alias" | "targets"> = {}): ResolvedRoute {
  return withDefaults({ alias: "test", targets, ...rest });
}

/** A one-message chat request. */
export function chatRequest(text = "hello", extra: Partial<ModelRequest> = {}): ModelRequest {
  return { model: "ignored", messages: [{ role: "user", content: [{ type: "text", text }] }], ...extra };
}

/** Options with a live signal and a deadline `ms` from now. */
export function within(ms: number, signal: AbortSignal = new AbortController().signal): { signal: AbortSignal; deadline: number } {
  return { signal, deadline: Date.now() + ms };
}

/** Reads a stream to its end, returning the chunks and the error it ended with, if any. */
export async function drain<T>(chunks: AsyncIterable<T>): Promise<{ items: T[]; error?: unknown }> {
  const items: T[] = [];
  try {
    for await (const c of chunks) items.push(c);
    return { items };
  } catch (error) {
    return { items, error };
  }
}

/** A fresh retry budget that tells `seen` its counts after every retry it is asked for (granted or not). */
export function observedRetryBudget(seen: (granted: boolean, counts: { activeRequests: number; activeRetries: number }) => void): RetryBudget {
  const budget = createRetryBudget();
  return {
    requestStarted: () => budget.requestStarted(),
    snapshot: () => budget.snapshot(),
    tryAcquireRetry: (p) => {
      const slot = budget.tryAcquireRetry(p);
      seen(slot !== undefined, budget.snapshot());
      return slot;
    },
  };
}
