import type pg from "pg";

/**
 * Sessions of the current database queued behind session `holder`'s locks: blocked by it, or by a
 * session so blocked (a writer that waits on a row lock may itself hold a lock others wait for).
 * Waits on anything else (two calls touching one key's last use) are not counted.
 */
export async function queuedBehind(watcher: pg.Client, holder: number): Promise<number> {
  const { rows } = await watcher.query<{ pid: number; blockers: number[] }>(
    "select pid, pg_blocking_pids(pid) as blockers from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'",
  );
  const queued = new Set([holder]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const row of rows) {
      if (!queued.has(row.pid) && row.blockers.some((b) => queued.has(b))) {
        queued.add(row.pid);
        grew = true;
      }
    }
  }
  return queued.size - 1;
}

/**
 * Resolves once `count` sessions are queued behind `holder` (true), or once `settled()` says the
 * awaited call finished without waiting (false); throws after 5 s of neither.
 */
export async function untilQueued(watcher: pg.Client, holder: number, count: number, settled: () => boolean = () => false): Promise<boolean> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    if ((await queuedBehind(watcher, holder)) >= count) return true;
    if (settled()) return false;
    if (Date.now() > deadline) throw new Error(`no ${count} sessions queued behind ${holder} within 5 s`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** The backend pid of `client`'s session. */
export async function pidOf(client: pg.Client): Promise<number> {
  return (await client.query<{ pid: number }>("select pg_backend_pid() as pid")).rows[0]!.pid;
}
