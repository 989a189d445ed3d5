/** A refresh of an in-process snapshot that follows the database: see {@link serialRefresh}. */
export interface SerialRefresh {
  (): Promise<void>;
  /** The reload running now, if any: for a caller that needs a snapshot, not one newer than its own write. */
  current(): Promise<void> | undefined;
}

/**
 * Runs `reload` one at a time. A call made while a reload runs does not join it — that reload may
 * have read the database before the caller's own write — but gets the next run, which starts once
 * the current one ends; every call made meanwhile shares that one run. So `await refresh()` after
 * a write on this replica always serves the write, and a burst of calls costs at most two reloads.
 */
export function serialRefresh(reload: () => Promise<void>): SerialRefresh {
  let running: Promise<void> | undefined;
  let queued: Promise<void> | undefined;
  const refresh = (): Promise<void> => {
    if (running === undefined) {
      running = reload().finally(() => (running = undefined));
      return running;
    }
    queued ??= running
      .catch(() => undefined)
      .then(() => {
        queued = undefined;
        return refresh();
      });
    return queued;
  };
  return Object.assign(refresh, { current: () => running });
}

/**
 * Calls `refresh` every `pollMs` (a timer that does not keep the process alive), telling `onError`
 * of failures; a tick while a reload runs is skipped, so a slow database gets one reload at a time,
 * not a queue of them. Returns what stops it.
 */
export function pollRefresh(refresh: SerialRefresh, pollMs: number, onError?: (err: unknown) => void): () => void {
  const timer = setInterval(() => refreshInBackground(refresh, onError), pollMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** Starts a reload nobody waits for, unless one runs already; `onError` hears of a failure. */
export function refreshInBackground(refresh: SerialRefresh, onError?: (err: unknown) => void): void {
  if (refresh.current() === undefined) refresh().catch((err: unknown) => onError?.(err));
}
