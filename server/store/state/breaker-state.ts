import { afterCall } from "../../after-call.js";
import type { Logger } from "../../observability/logger.js";
import type { StateBackend } from "./state-backend.js";

/** The state breaker's position: `half_open` lets one probe call through. */
export type StateBreakerState = "closed" | "open" | "half_open";

/**
 * The rejection of a call the breaker refused without reaching the backend (the circuit is open,
 * or half-open with its one probe already in flight). Callers need not tell it apart: like a
 * timeout it means "the backend failed", so the cache bypasses and budget and rate-limit checks
 * fail closed, exactly as before the breaker. It only arrives sooner.
 */
export class StateBackendUnavailableError extends Error {
  override readonly name = "StateBackendUnavailableError";

  /**
   * @param operation The `StateBackend` method refused (`reserve`, `get`, …).
   * @param retryAfterMs Time until the breaker lets a probe through (0 when one is in flight).
   */
  constructor(
    readonly operation: string,
    readonly retryAfterMs: number,
  ) {
    super(`state backend circuit open: ${operation} refused without calling it (next probe in ${retryAfterMs} ms)`);
  }
}

/** When the breaker opens on a failure rate rather than on a run of failures. */
export interface StateBreakerRateOptions {
  /** Opens when at least this share of the window's calls failed (default 50). */
  percent?: number;
  /** … and the window holds at least this many calls (default 20). */
  minCalls?: number;
  /** The rolling window (default 10 000 ms). */
  windowMs?: number;
}

/** Options of {@link createBreakerState}. */
export interface StateBreakerOptions {
  /** Consecutive failures that open the circuit (default 5, RELIABILITY P7). */
  failureThreshold?: number;
  /** Also open on a failure rate (default on, 50 % of at least 20 calls in 10 s); `false` turns it off. */
  failureRate?: StateBreakerRateOptions | false;
  /**
   * How long the circuit stays open before one probe is let through (default 1000 ms). Redis
   * reconnection backs off to at most about 1 s, so probing sooner mostly finds the connection
   * still down; waiting longer delays recovery (P7: closed within one cool-down of Redis's return).
   * During an outage a probe costs one caller at most the backend's own bound (≈ 2 command
   * timeouts with Redis) once per cool-down.
   */
  coolDownMs?: number;
  /**
   * Whether a rejection counts against the backend. Default: all but `RangeError`, which the
   * backends throw for invalid arguments before reaching the server (a caller's bug, not an
   * outage). Errors a caller then swallows still count: the breaker sees every rejection.
   */
  isFailure?: (err: unknown) => boolean;
}

/** Dependencies of {@link createBreakerState}. */
export interface StateBreakerDeps {
  /** Transitions are logged: opening as a warning, half-opening and closing as info. */
  logger?: Pick<Logger, "warn" | "info">;
  /** Clock for the cool-down and the rate window; default `Date.now`. */
  now?: () => number;
}

/** What the breaker reports to metrics and readiness. */
export interface StateBreakerStatus {
  /** The position now (an elapsed cool-down reads as `half_open`). */
  state(): StateBreakerState;
  /** Times the circuit opened since start. */
  opens(): number;
  /** Calls refused without reaching the backend since start. */
  rejected(): number;
}

/** A guarded backend and its breaker's status. */
export interface StateWithBreaker {
  /** Forwards every method of the wrapped backend through the breaker (`close` always passes). */
  readonly state: StateBackend;
  readonly breaker: StateBreakerStatus;
}

/** A call's leave to run, tied to the breaker generation that granted it. */
interface Permit {
  generation: number;
  probe: boolean;
}

/**
 * Wraps a `StateBackend` in a circuit breaker (RELIABILITY P7), so that while the backend is
 * failing callers are refused at once instead of each waiting out the command timeout.
 *
 * Closed: every call goes through; `failureThreshold` consecutive failures, or the failure rate,
 * open the circuit. Open: every call rejects at once with {@link StateBackendUnavailableError}
 * until `coolDownMs` has passed. Half-open: exactly one call (the probe) goes through while the
 * others are refused; its success closes the circuit, its failure re-opens it for another
 * cool-down. A result that arrives after a transition (a call made before the circuit opened)
 * changes nothing. The wrapped backend must bound its own calls (the Redis backend does), or a
 * hung probe would keep the circuit half-open.
 *
 * Methods are forwarded generically (a proxy), so a method added to `StateBackend` is guarded
 * without touching this file; every method but `close` passes through the breaker, `ping` too, so
 * readiness probes may serve as the half-open probe. Every `StateBackend` method returns a
 * promise; a synchronous throw of the wrapped backend becomes a rejection.
 */
export function createBreakerState(inner: StateBackend, deps: StateBreakerDeps = {}, opts: StateBreakerOptions = {}): StateWithBreaker {
  const now = deps.now ?? Date.now;
  const threshold = opts.failureThreshold ?? 5;
  const coolDownMs = opts.coolDownMs ?? 1000;
  const isFailure = opts.isFailure ?? ((err: unknown) => !(err instanceof RangeError));
  const rate = opts.failureRate === false ? undefined : { percent: 50, minCalls: 20, windowMs: 10_000, ...opts.failureRate };
  const window = createOutcomeWindow(rate?.windowMs ?? 10_000);

  let state: StateBreakerState = "closed";
  let generation = 0;
  let openedAt = 0;
  let consecutive = 0;
  let probeInFlight = false;
  let opens = 0;
  let rejected = 0;

  const transition = (to: StateBreakerState, cause?: unknown): void => {
    const from = state;
    state = to;
    generation++;
    consecutive = 0;
    probeInFlight = false;
    window.clear();
    if (to === "open") {
      openedAt = now();
      opens++;
      deps.logger?.warn(
        { from, to, coolDownMs, err: cause instanceof Error ? cause.message : String(cause) },
        "state backend circuit opened: calls fail fast until a probe succeeds",
      );
    } else {
      deps.logger?.info({ from, to }, to === "closed" ? "state backend circuit closed" : "state backend circuit half-open: probing");
    }
  };

  const refresh = (): void => {
    if (state !== "open") return;
    // Opened "in the future": the wall clock stepped back since, so how long it has been open is
    // unknown; probe rather than stay open for the length of the step.
    const open = now() - openedAt;
    if (open >= coolDownMs || open < 0) transition("half_open");
  };

  const admit = (): Permit | undefined => {
    refresh();
    if (state === "closed") return { generation, probe: false };
    if (state === "half_open" && !probeInFlight) {
      probeInFlight = true;
      return { generation, probe: true };
    }
    return undefined;
  };

  const settle = (permit: Permit, verdict: "success" | "failure" | "ignore", cause?: unknown): void => {
    if (permit.generation !== generation) return;
    if (permit.probe) {
      if (verdict === "success") transition("closed");
      else if (verdict === "failure") transition("open", cause);
      else probeInFlight = false;
      return;
    }
    if (verdict === "ignore") return;
    const t = now();
    window.record(verdict === "failure", t);
    if (verdict === "success") {
      consecutive = 0;
      return;
    }
    consecutive++;
    const { total, failures } = window.totals(t);
    const rateTripped = rate !== undefined && total >= rate.minCalls && failures * 100 >= rate.percent * total;
    if (consecutive >= threshold || rateTripped) transition("open", cause);
  };

  // A promise chain, not an `async` function: no suspended frame per state call in flight (`afterCall`).
  const guarded = (operation: string, run: () => unknown): Promise<unknown> => {
    const permit = admit();
    if (permit === undefined) {
      rejected++;
      return Promise.reject(new StateBackendUnavailableError(operation, state === "open" ? Math.max(0, openedAt + coolDownMs - now()) : 0));
    }
    return afterCall(
      () => Promise.resolve(run()),
      (result) => {
        settle(permit, "success");
        return result;
      },
      (err: unknown) => {
        settle(permit, isFailure(err) ? "failure" : "ignore", err);
        throw err;
      },
    );
  };

  const wrappers = new Map<PropertyKey, (...args: unknown[]) => Promise<unknown>>();
  const backend = new Proxy(inner, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property);
      if (typeof value !== "function") return value;
      if (property === "close") return value.bind(target);
      let wrapper = wrappers.get(property);
      if (wrapper === undefined) {
        const operation = String(property);
        wrapper = (...args) => guarded(operation, () => (Reflect.get(target, property) as (...a: unknown[]) => unknown).apply(target, args));
        wrappers.set(property, wrapper);
      }
      return wrapper;
    },
  });

  return {
    state: backend,
    breaker: {
      state() {
        refresh();
        return state;
      },
      opens: () => opens,
      rejected: () => rejected,
    },
  };
}

/** Call outcomes over the last `windowMs`, in ten buckets (constant memory whatever the traffic). */
function createOutcomeWindow(windowMs: number) {
  const buckets = 10;
  const width = Math.max(1, windowMs / buckets);
  const slots = Array.from({ length: buckets }, () => ({ start: -Infinity, total: 0, failures: 0 }));
  return {
    record(failed: boolean, t: number): void {
      const start = Math.floor(t / width) * width;
      const slot = slots[Math.floor(t / width) % buckets]!;
      if (slot.start !== start) Object.assign(slot, { start, total: 0, failures: 0 });
      slot.total++;
      if (failed) slot.failures++;
    },
    totals(t: number): { total: number; failures: number } {
      let total = 0;
      let failures = 0;
      for (const slot of slots) {
        if (slot.start + windowMs <= t) continue;
        total += slot.total;
        failures += slot.failures;
      }
      return { total, failures };
    },
    clear(): void {
      for (const slot of slots) Object.assign(slot, { start: -Infinity, total: 0, failures: 0 });
    },
  };
}
