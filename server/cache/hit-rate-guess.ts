/** Options of {@link createHitRateGuess}. */
export interface HitRateGuessOptions {
  /** Weight of each new outcome in the moving average (default 0.05: about the last 20–40 lookups). */
  alpha?: number;
  /** At or above this guessed hit rate a route is "likely to hit" (default 0.5). */
  threshold?: number;
  /** Routes tracked at most; beyond it the guesses start over (default 10 000). */
  maxScopes?: number;
}

/** A replica's guess, per org and cached route, of whether its next exact-cache lookup hits. */
export interface HitRateGuess {
  /** Records one lookup's outcome. */
  record(orgId: string, route: string, hit: boolean): void;
  /** Whether the route's next lookup is more likely to miss than to hit (true for a route not seen yet). */
  likelyMiss(orgId: string, route: string): boolean;
}

/**
 * An exponentially weighted moving average of each route's cache hits, in-process. It decides
 * whether a cacheable call starts its tokens check and budget reservation with the cache read
 * (one round trip before a miss is sent, at the price of giving both back on a hit) or after the
 * miss (two round trips, nothing to give back). A guess, not an account: each replica keeps its
 * own, a wrong one costs a round trip or a give-back, never money or a limit.
 */
export function createHitRateGuess(opts: HitRateGuessOptions = {}): HitRateGuess {
  const alpha = opts.alpha ?? 0.05;
  const threshold = opts.threshold ?? 0.5;
  const maxScopes = opts.maxScopes ?? 10_000;
  const rates = new Map<string, number>();
  const scope = (orgId: string, route: string) => `${orgId}\u0000${route}`;
  return {
    record(orgId, route, hit) {
      const key = scope(orgId, route);
      const rate = rates.get(key);
      if (rate === undefined && rates.size >= maxScopes) rates.clear();
      rates.set(key, (rate ?? 0) * (1 - alpha) + (hit ? alpha : 0));
    },
    likelyMiss(orgId, route) {
      return (rates.get(scope(orgId, route)) ?? 0) < threshold;
    },
  };
}
