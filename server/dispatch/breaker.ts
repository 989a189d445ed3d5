import type { BreakerVerdict } from "./retryable.js";
import type { BreakerPolicy, RouteTarget } from "./route-types.js";
import { createRollingWindow } from "./rolling-window.js";

// Why not opossum: its model is "wrap a function that returns a promise", but a streamed attempt's
// outcome is known only after the caller has pulled the last chunk, and a hedge loser or a caller
// cancel is neither a success nor a failure. Beyond that, opossum (9.0) counts filtered errors as
// successes (a cancelled half-open probe would close the circuit), lets a late success from a call
// made before the circuit opened close it (nodeshift/opossum#381), opens on `>` rather than `>=`
// the threshold, and reads `Date.now` and runs interval timers per instance, so it cannot take an
// injected clock. The state machine below is small, timer-free and driven by an injected clock.

/** The breaker's state. */
export type BreakerState = "closed" | "open" | "half_open";

/** What a breaker is kept for: one provider deployment reached with one credential. */
export type BreakerTarget = Pick<RouteTarget, "provider" | "model" | "credential">;

/** Told of every transition, for metrics and logs. */
export type BreakerStateListener = (target: BreakerTarget, from: BreakerState, to: BreakerState) => void;

/** Leave to send one request; settle it exactly once with what the attempt showed. */
export interface BreakerPermit {
  /** Reports the attempt's result; later calls do nothing. */
  settle(verdict: BreakerVerdict): void;
}

/**
 * A circuit breaker for one target: closed → open when at least `errorThresholdPercent` of at
 * least `volumeThreshold` requests in the rolling window failed; open → half-open once
 * `resetTimeoutMs` has passed, letting exactly one probe through; the probe's success closes it,
 * its failure re-opens it. A result reported after the state changed (a call made before the
 * circuit opened, say) is ignored.
 */
export interface CircuitBreaker {
  readonly target: BreakerTarget;
  state(): BreakerState;
  /** A permit to send, or `undefined` while open or while the half-open probe is in flight. */
  tryAcquire(): BreakerPermit | undefined;
  /** How long until it lets a probe through: the rest of its reset timeout while open, else 0. */
  probeInMs(): number;
}

/** Dependencies of {@link createBreakerRegistry}. */
export interface BreakerRegistryDeps {
  now?: () => number;
  onStateChange?: BreakerStateListener;
}

/** Hands out the breaker of a target, creating it on first use. State is per process. */
export interface BreakerRegistry {
  /** The target's breaker; `policy` is the calling route's and replaces the one held. */
  get(target: BreakerTarget, policy: BreakerPolicy): CircuitBreaker;
  /** The target's state now, without creating a breaker: undefined for a target never called. */
  peek(target: BreakerTarget): BreakerState | undefined;
  /** Every breaker and its state now (metrics). */
  states(): Array<{ target: BreakerTarget; state: BreakerState }>;
}

/** Keys made so far, by provider, model and credential (as many as configured targets; forgotten past 10,000). */
const keys = new Map<string, Map<string, Map<string, string>>>();
let keyCount = 0;

/**
 * The key a breaker is kept under: provider, model and credential, unambiguously joined. Made
 * once per target and looked up after that (dispatch asks for it several times per attempt).
 */
export function breakerKey(target: BreakerTarget): string {
  const credential = target.credential ?? "";
  let models = keys.get(target.provider);
  if (models === undefined) keys.set(target.provider, (models = new Map()));
  let credentials = models.get(target.model);
  if (credentials === undefined) models.set(target.model, (credentials = new Map()));
  let key = credentials.get(credential);
  if (key === undefined) {
    key = JSON.stringify([target.provider, target.model, credential]);
    if (++keyCount > 10_000) {
      keys.clear();
      keyCount = 0;
    } else credentials.set(credential, key);
  }
  return key;
}

/** Creates an empty registry of per-target breakers. */
export function createBreakerRegistry(deps: BreakerRegistryDeps = {}): BreakerRegistry {
  const now = deps.now ?? Date.now;
  const onStateChange = deps.onStateChange ?? (() => {});
  const breakers = new Map<string, { breaker: CircuitBreaker; policy: { current: BreakerPolicy } }>();
  return {
    get(target, policy) {
      const key = breakerKey(target);
      let entry = breakers.get(key);
      if (!entry) {
        const holder = { current: policy };
        const ownTarget: BreakerTarget = { provider: target.provider, model: target.model };
        if (target.credential !== undefined) ownTarget.credential = target.credential;
        entry = { breaker: createCircuitBreaker(ownTarget, () => holder.current, { now, onStateChange }), policy: holder };
        breakers.set(key, entry);
      }
      entry.policy.current = policy;
      return entry.breaker;
    },
    peek: (target) => breakers.get(breakerKey(target))?.breaker.state(),
    states: () => [...breakers.values()].map(({ breaker }) => ({ target: breaker.target, state: breaker.state() })),
  };
}

/** Dependencies of {@link createCircuitBreaker}. */
export interface CircuitBreakerDeps {
  now: () => number;
  onStateChange: BreakerStateListener;
}

/** Creates one breaker; `policy` is read at every decision so route edits apply at once. */
export function createCircuitBreaker(target: BreakerTarget, policy: () => BreakerPolicy, deps: CircuitBreakerDeps): CircuitBreaker {
  let state: BreakerState = "closed";
  // Bumped on every transition; a permit from an older generation no longer counts.
  let generation = 0;
  let openedAt = 0;
  let probeInFlight = false;
  let windowMs = policy().rollingWindowMs;
  let window = createRollingWindow(windowMs);

  const transition = (to: BreakerState): void => {
    const from = state;
    state = to;
    generation++;
    probeInFlight = false;
    window.clear();
    if (to === "open") openedAt = deps.now();
    deps.onStateChange(target, from, to);
  };

  const refresh = (): void => {
    const p = policy();
    if (p.rollingWindowMs !== windowMs) {
      windowMs = p.rollingWindowMs;
      window = createRollingWindow(windowMs);
    }
    if (state !== "open") return;
    // Opened "in the future": the wall clock stepped back since, so how long it has been open is
    // unknown; probe rather than keep the target out for the length of the step.
    const open = deps.now() - openedAt;
    if (open >= p.resetTimeoutMs || open < 0) transition("half_open");
  };

  const settleClosed = (verdict: BreakerVerdict): void => {
    if (verdict === "ignore") return;
    const now = deps.now();
    window.record(verdict === "failure", now);
    if (verdict !== "failure") return;
    const p = policy();
    const { total, failures } = window.totals(now);
    if (total >= p.volumeThreshold && failures * 100 >= p.errorThresholdPercent * total) transition("open");
  };

  const settleProbe = (verdict: BreakerVerdict): void => {
    if (verdict === "success") transition("closed");
    else if (verdict === "failure") transition("open");
    else probeInFlight = false;
  };

  const permit = (gen: number, probe: boolean): BreakerPermit => {
    let settled = false;
    return {
      settle(verdict) {
        if (settled) return;
        settled = true;
        refresh();
        if (gen !== generation) return;
        if (probe) settleProbe(verdict);
        else settleClosed(verdict);
      },
    };
  };

  return {
    target,
    state() {
      refresh();
      return state;
    },
    tryAcquire() {
      refresh();
      if (state === "closed") return permit(generation, false);
      if (state === "open" || probeInFlight) return undefined;
      probeInFlight = true;
      return permit(generation, true);
    },
    probeInMs() {
      refresh();
      return state === "open" ? Math.max(0, openedAt + policy().resetTimeoutMs - deps.now()) : 0;
    },
  };
}
