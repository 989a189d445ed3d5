/** The caps of {@link createInFlightLimiter}; 0 turns a cap off. */
export interface InFlightLimits {
  /** Model calls this replica runs at once (Envoy `max_requests`); default 1024. */
  maxInFlight?: number;
  /** Model calls one key runs at once on this replica; default 256. */
  maxInFlightPerKey?: number;
}

/** Why a call was shed: which cap was full. */
export interface InFlightRefusal {
  scope: "replica" | "key";
  limit: number;
}

/** Gives back a slot; calling it again does nothing. */
export type InFlightRelease = () => void;

/**
 * Counts the model calls in flight on this replica, overall and per key, and admits a call only
 * when both counts are under their caps. It never queues: a full cap refuses at once, so overload
 * is shed in microseconds instead of piling up as latency and memory (RELIABILITY P23, Envoy's
 * fail-fast circuit breakers). Per-key counts live only while a key has calls in flight.
 */
export interface InFlightLimiter {
  /** A slot for a call by `keyId` (undefined: no key, only the replica cap applies), or why not. */
  tryAcquire(keyId: string | undefined): { release: InFlightRelease } | { refused: InFlightRefusal };
  /** Calls in flight now. */
  inFlight(): number;
  /** Keys with calls in flight now (the per-key map's size). */
  keysInFlight(): number;
}

/** Default replica cap. */
export const DEFAULT_MAX_IN_FLIGHT = 1024;
/** Default per-key cap. */
export const DEFAULT_MAX_IN_FLIGHT_PER_KEY = 256;

/** Creates an {@link InFlightLimiter} with its own counters (one per process, shared by both front doors). */
export function createInFlightLimiter(limits: InFlightLimits = {}): InFlightLimiter {
  const maxTotal = limits.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
  const maxPerKey = limits.maxInFlightPerKey ?? DEFAULT_MAX_IN_FLIGHT_PER_KEY;
  const byKey = new Map<string, number>();
  let total = 0;
  return {
    tryAcquire(keyId) {
      if (maxTotal > 0 && total >= maxTotal) return { refused: { scope: "replica", limit: maxTotal } };
      const mine = keyId === undefined ? 0 : (byKey.get(keyId) ?? 0);
      if (keyId !== undefined && maxPerKey > 0 && mine >= maxPerKey) return { refused: { scope: "key", limit: maxPerKey } };
      total++;
      if (keyId !== undefined) byKey.set(keyId, mine + 1);
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          total--;
          if (keyId === undefined) return;
          const left = (byKey.get(keyId) ?? 1) - 1;
          if (left <= 0) byKey.delete(keyId);
          else byKey.set(keyId, left);
        },
      };
    },
    inFlight: () => total,
    keysInFlight: () => byKey.size,
  };
}
