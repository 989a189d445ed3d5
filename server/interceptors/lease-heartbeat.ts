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

/**
 * Keeps a lease alive while the work holding it runs: renews it every `everyMs` until the
 * returned `stop` is called, `signal` aborts, or a renewal finds the lease no longer held. One
 * timer per lease, unref'd so it never holds the process open; a renewal still running when the
 * next tick comes is not doubled up, and a failed one is reported, never thrown.
 */
export function startLeaseHeartbeat(opts: LeaseHeartbeatOptions): () => void {
  let stopped = false;
  let renewing = false;
  const tick = async () => {
    if (renewing) return;
    renewing = true;
    try {
      // Not held any more: renewing again cannot win it back (the owner's token differs).
      if (!(await opts.renew())) stop();
    } catch (err) {
      if (!stopped) opts.onError(err);
    } finally {
      renewing = false;
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
