import type { StateBackend } from "../store/state/state-backend.js";
import { SpanKind, SpanStatusCode, type Tracing } from "./tracing.js";

/**
 * `state` with a CLIENT span (`state <operation>`) around every call made inside a traced request
 * — the rate-limit, cache and budget stages' Redis round trips show in the request's trace. Calls
 * outside a request (background refreshes) and all calls when tracing is off go straight through;
 * keys and values are never put on a span.
 */
export function traceState(state: StateBackend, tracing: Tracing): StateBackend {
  if (!tracing.enabled) return state;
  const traced =
    <A extends unknown[], R>(operation: string, fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      if (!tracing.inSpan()) return fn(...args);
      const span = tracing.startSpan(`state ${operation}`, { kind: SpanKind.CLIENT, attributes: { "db.operation.name": operation } });
      try {
        return await fn(...args);
      } catch (err) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.name : "error" });
        throw err;
      } finally {
        span.end();
      }
    };
  return {
    get: traced("get", (key) => state.get(key)),
    set: traced("set", (key, value, ttlMs) => state.set(key, value, ttlMs)),
    delete: traced("delete", (key) => state.delete(key)),
    deleteByPrefix: traced("delete_by_prefix", (prefix) => state.deleteByPrefix(prefix)),
    increment: traced("increment", (key, delta, ttlMs) => state.increment(key, delta, ttlMs)),
    incrementMany: traced("increment_many", (entries, ttlMs) => state.incrementMany(entries, ttlMs)),
    reserve: traced("reserve", (entries, ttlMs) => state.reserve(entries, ttlMs)),
    release: traced("release", (entries, ttlMs) => state.release(entries, ttlMs)),
    reserveHold: traced("reserve_hold", (hold, journal, ttlMs) => state.reserveHold(hold, journal, ttlMs)),
    settleHold: traced("settle_hold", (settlement, ttlMs) => state.settleHold(settlement, ttlMs)),
    openHolds: traced("open_holds", (index) => state.openHolds(index)),
    releaseHolds: traced("release_holds", (index, holds, markerTtlMs) => state.releaseHolds(index, holds, markerTtlMs)),
    hitWindow: traced("hit_window", (key, cost, limit, windowMs, nowMs) => state.hitWindow(key, cost, limit, windowMs, nowMs)),
    hitWindows: traced("hit_windows", (entries, windowMs, nowMs) => state.hitWindows(entries, windowMs, nowMs)),
    unhitWindows: traced("unhit_windows", (entries, windowMs, window) => state.unhitWindows(entries, windowMs, window)),
    ping: () => state.ping(),
    close: () => state.close(),
  };
}
