import type { WindowHit, WindowHits } from "./state-backend.js";

/**
 * The window checks (`StateBackend.hitWindows`) a replica issues in one turn of its event loop,
 * sent as one script instead of one each.
 *
 * A call checks its requests-per-minute limits in front of the cache and starts its
 * tokens-per-minute check ahead in the same turn (`pipeline/ahead.ts`), and at load the calls a
 * turn serves do the same: before this, each check was its own `EVALSHA` — its own command
 * object, timer, reply and promise on the replica, its own script call on Redis — though all of
 * them already left in one write (`tickCorker`). Now the checks of one turn that share a hash tag
 * (a tenant: every key of one check shares it by `hitWindows`'s contract), a window length and a
 * clock are one script call whose groups are decided and counted one after the other in the order
 * issued, each all-or-nothing as before (`redisLua.hitWindows`). Nothing waits longer: the batch
 * is sent just before the turn's write leaves.
 */
export interface WindowBatcher {
  /**
   * Queues one check (`keys` prefixed, `pairs` its cost and limit per key) for the end of the
   * turn; undefined when it cannot share a batch (its keys have no common hash tag) and must be
   * sent alone.
   */
  add(keys: readonly string[], pairs: readonly number[], windowMs: number, nowMs: number | undefined): Promise<WindowHits> | undefined;
  /** Sends one check at once, alone (what cannot be queued: a connection not ready, keys without a shared tag). */
  one(keys: string[], pairs: number[], windowMs: number, nowMs: number | undefined): Promise<WindowHits>;
  /** Sends every queued batch; called once per turn, before the turn's write leaves. */
  flush(): void;
}

/**
 * The most checks one script decides: a busy tenant's turn can hold hundreds, and one script holds
 * Redis for all of them (and ioredis spreads every argument into one call); a full batch is sent at
 * once, into the turn's corked write, and the turn's next checks start another after it.
 */
export const MAX_BATCH = 128;

/** One check in a batch, waiting for the script's reply. */
interface Waiting {
  size: number;
  resolve(hits: WindowHits): void;
  reject(err: unknown): void;
}

/** The checks of one turn under one hash tag, window length and clock. */
interface Batch {
  keys: string[];
  pairs: number[];
  windowMs: number;
  nowMs: number | undefined;
  waiting: Waiting[];
}

/**
 * `send(keys, args)` runs `redisLua.hitWindows`; `turnStarted()` makes sure `flush` runs at the
 * end of this turn (the corker's end-of-turn callback).
 */
export function createWindowBatcher(send: (keys: string[], args: (string | number)[]) => Promise<unknown>, turnStarted: () => void): WindowBatcher {
  let batches = new Map<string, Batch>();

  const waitFor = (batch: Batch, size: number): Promise<WindowHits> =>
    new Promise<WindowHits>((resolve, reject) => batch.waiting.push({ size, resolve, reject }));

  const sendBatch = (batch: Batch): void => {
    const { waiting } = batch;
    const args: (string | number)[] = [batch.windowMs, batch.nowMs ?? "", waiting.length];
    for (const w of waiting) args.push(w.size);
    for (const p of batch.pairs) args.push(p);
    send(batch.keys, args).then(
      (reply) => {
        const values = reply as number[];
        const window = Number(values[values.length - 1]);
        let at = 0;
        for (const w of waiting) {
          w.resolve(groupOf(values, at, w.size, window));
          at += 1 + 3 * w.size;
        }
      },
      (err: unknown) => {
        for (const w of waiting) w.reject(err);
      },
    );
  };

  return {
    add(keys, pairs, windowMs, nowMs) {
      const tag = sharedTag(keys);
      if (tag === undefined) return undefined;
      const id = `${tag}\n${windowMs}\n${nowMs ?? ""}`;
      let batch = batches.get(id);
      if (batch === undefined || batch.waiting.length >= MAX_BATCH) {
        // A full batch leaves now: the turn's write is corked, so it still goes out with the rest, before them.
        if (batch !== undefined) sendBatch(batch);
        else if (batches.size === 0) turnStarted();
        batch = { keys: [], pairs: [], windowMs, nowMs, waiting: [] };
        batches.set(id, batch);
      }
      for (const key of keys) batch.keys.push(key);
      for (const p of pairs) batch.pairs.push(p);
      return waitFor(batch, keys.length);
    },
    one(keys, pairs, windowMs, nowMs) {
      const batch: Batch = { keys, pairs, windowMs, nowMs, waiting: [] };
      const hits = waitFor(batch, keys.length);
      sendBatch(batch);
      return hits;
    },
    flush() {
      if (batches.size === 0) return;
      const due = batches;
      batches = new Map();
      for (const batch of due.values()) sendBatch(batch);
    },
  };
}

/** One check's part of the reply: `[admitted, (allowed, count, retryAfterMs) per key…]` from `at`. */
function groupOf(values: readonly number[], at: number, size: number, window: number): WindowHits {
  const hits: WindowHit[] = [];
  for (let i = at + 1; i < at + 1 + 3 * size; i += 3) {
    hits.push({ allowed: values[i] === 1, count: Number(values[i + 1]), retryAfterMs: Number(values[i + 2]) });
  }
  return { admitted: values[at] === 1, hits, window };
}

/**
 * The Redis Cluster hash tag every key shares (the text between the first `{` and the next `}`,
 * when not empty), or undefined when they do not all have the same one.
 */
export function sharedTag(keys: readonly string[]): string | undefined {
  let tag: string | undefined;
  for (const key of keys) {
    const open = key.indexOf("{");
    if (open < 0) return undefined;
    const close = key.indexOf("}", open + 1);
    if (close <= open + 1) return undefined;
    // One string for the first key's tag; the others are compared in place.
    if (tag === undefined) tag = key.slice(open + 1, close);
    else if (close - open - 1 !== tag.length || !key.startsWith(tag, open + 1)) return undefined;
  }
  return tag;
}
