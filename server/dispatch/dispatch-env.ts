import type { Provider } from "../providers/provider.js";
import { MAX_TIMER_MS, timeoutWithin } from "../runtime/node-timer.js";
import type { BreakerRegistry } from "./breaker.js";
import type { RetryBudget } from "./retry-budget.js";
import type { RetryThrottle } from "./retry-throttle.js";
import type { TargetLoad } from "./target-load.js";
import type { UsageEstimator } from "./usage-estimate.js";

/**
 * A credential as dispatch uses it: the decrypted API key and its non-secret settings
 * (`Credential.settings`: `base_url`, `api_version`, …). A bare string is a key with no settings.
 */
export interface CredentialUse {
  apiKey: string;
  settings?: Readonly<Record<string, string>>;
}

/** Starts a one-shot timer; the returned function cancels it. */
export type SetTimer = (fn: () => void, ms: number) => () => void;

/** Waits `ms`, or less when `signal` aborts; never rejects. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/**
 * Everything dispatch depends on besides the route and the request, defaults applied. Injected
 * so tests drive time, randomness and shared state.
 */
export interface DispatchEnv {
  now: () => number;
  random: () => number;
  /** Backoff waits. */
  sleep: Sleep;
  /** Deadline, per-attempt, first-token, idle and hedge timers. */
  setTimer: SetTimer;
  budget: RetryBudget;
  /** Per-target gRPC A6 token buckets: retries of a failing target stop. */
  throttle: RetryThrottle;
  breakers: BreakerRegistry;
  /** Attempts in flight and latency per target: what the `least_busy` and `latency` strategies order by. */
  load: TargetLoad;
  /** A credential by name (see {@link CredentialUse}), `undefined` when there is none. */
  credential: (name: string) => Promise<string | CredentialUse | undefined>;
  /** The adapter of `kind` as a credential's settings configure it; undefined: the kind's own serves. */
  endpoint: (kind: string, settings: Readonly<Record<string, string>>) => Provider | undefined;
  /** No attempt starts with less than this left before the deadline. */
  minAttemptMs: number;
  /** A `retry-after` longer than this is not waited for; dispatch falls back instead. */
  maxRetryAfterMs: number;
  estimateUsage: UsageEstimator;
}

/** The real timer: `setTimeout` with a canceller (none beyond a Node timer's range: `timeoutWithin`). */
export const realSetTimer: SetTimer = (fn, ms) => {
  const handle = timeoutWithin(fn, ms);
  return () => clearTimeout(handle);
};

/** The real sleep: resolves after `ms`, or at once when `signal` aborts. */
export const realSleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(handle);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const handle = setTimeout(done, Math.min(Math.max(0, ms), MAX_TIMER_MS));
    signal?.addEventListener("abort", done, { once: true });
  });
