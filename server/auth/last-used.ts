import type { Clock } from "../clock.js";
import type { Logger } from "../observability/logger.js";
import type { KeyStore } from "../store/key-store.js";

/** Dependencies of {@link createLastUsedRecorder}. */
export interface LastUsedRecorderDeps {
  keys: Pick<KeyStore, "touchLastUsed">;
  clock: Clock;
  logger: Logger;
}

/** Options of {@link createLastUsedRecorder}. */
export interface LastUsedRecorderOptions {
  /** At most one write per key per this interval (default one minute). */
  intervalMs?: number;
  /** Keys remembered; beyond it the oldest are forgotten (default 10 000). */
  maxTracked?: number;
}

/** Records that a key authenticated a request. */
export interface LastUsedRecorder {
  /** Never waits and never throws: the write happens off the request path. */
  record(keyId: string): void;
}

/**
 * Keeps `keys.last_used_at` approximately current at a bounded cost: per replica at most one
 * write per key per interval, and the write itself is conditional, so replicas together also
 * write about once per interval. A failed write is logged at debug and dropped, never queued.
 */
export function createLastUsedRecorder(deps: LastUsedRecorderDeps, opts: LastUsedRecorderOptions = {}): LastUsedRecorder {
  const intervalMs = opts.intervalMs ?? 60_000;
  const maxTracked = opts.maxTracked ?? 10_000;
  const written = new Map<string, number>();
  return {
    record(keyId) {
      const now = deps.clock.now();
      const last = written.get(keyId);
      if (last !== undefined && now - last < intervalMs) return;
      written.delete(keyId);
      written.set(keyId, now);
      if (written.size > maxTracked) {
        const oldest = written.keys().next();
        if (!oldest.done) written.delete(oldest.value);
      }
      deps.keys.touchLastUsed(keyId, new Date(now), intervalMs).catch((err: unknown) => {
        deps.logger.debug({ keyId, err: err instanceof Error ? err.message : String(err) }, "last-used update failed");
      });
    },
  };
}
