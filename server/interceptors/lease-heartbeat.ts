/** Options of {@link startLeaseHeartbeat}. */
export interface LeaseHeartbeatOptions {
  /** Extends the lease; resolves whether it is still held (false: it is gone, e.g. taken over). */
  renew: () => Promise<boolean>;
  /** Time between renewals: a fraction of the lease, so a few failed renewals in a row are survived. */
  everyMs: number;
  /** Stops the heartbeat when aborted: the call ended or its caller went away. */
  signal: AbortSignal;
  /** A renewal that failed (the store was unreachable); the next tick tries again. */
  onError: (err: unknown) => void;
}

/** Renewals of one lease running at once, at most. */
const MAX_PENDING = 2;

/**
 * Keeps a lease alive while the work holding it runs: renews it every `everyMs` until the
 * returned `stop` is called, `signal` aborts, or a renewal finds the lease no longer held. One
 * timer per lease, unref'd so it never holds the process open; a failed renewal is reported,
 * never thrown.
 *
 * A renewal still running when the next tick comes does not hold that tick back: a renewal stuck
 * on a hung connection would otherwise be the only one for as long as it hangs, and a lease lost
 * that way lets a repeat run the call a second time. Renewals are idempotent (each extends the
 * lease from when it runs), so a second one alongside is harmless; more than {@link MAX_PENDING}
 * at once are not started, so a hung store costs a call two waiting queries, not one per tick.
 */
export function startLeaseHeartbeat(opts: LeaseHeartbeatOptions): () => void {
  let stopped = false;
  let pending = 0;
  const tick = async () => {
    if (pending >= MAX_PENDING) return;
    pending++;
    try {
      // Not held any more: renewing again cannot win it back (the owner's token differs).
      if (!(await opts.renew())) stop();
    } catch (err) {
      if (!stopped) opts.onError(err);
    } finally {
      pending--;
    }
  };
  const timer = setInterval(() => void tick(), opts.everyMs);
  timer.unref();
  const stop = () => {
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
    opts.signal.removeEventListener("abort", stop);
  };
  if (opts.signal.aborted) stop();
  else opts.signal.addEventListener("abort", stop, { once: true });
  return stop;
}
