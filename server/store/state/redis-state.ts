import { createHash } from "node:crypto";
import { Redis } from "ioredis";
import { callSafely } from "../../after-call.js";
import { holdArguments, holdRecord, type HoldResult, type OpenHold, type SettledHold } from "./hold-journal.js";
import { redisHoldLua } from "./redis-hold-lua.js";
import { redisLua } from "./redis-lua.js";
import { createWindowBatcher } from "./redis-window-batch.js";
import { stateArguments } from "./state-arguments.js";
import type { ReleaseEntry, ReserveEntry, ReserveResult, StateBackend, WindowHit, WindowHitEntry, WindowHits } from "./state-backend.js";

/** Options for {@link createRedisState}. */
export interface RedisStateOptions {
  /** `redis://[user:pass@]host:port[/db]` (or `rediss://` for TLS). */
  url: string;
  /**
   * Prepended to every key (default `"sb:"`), including the pattern `deleteByPrefix` scans —
   * applied here rather than through ioredis's `keyPrefix`, which SCAN patterns do not get.
   */
  keyPrefix?: string;
  /**
   * Longest wait for any one command's reply (default 50 ms, P7); also the longest a call waits
   * for a connection that is being (re)established before it rejects.
   */
  commandTimeoutMs?: number;
  /** Longest wait for a TCP connection, and for `ping()` to see the first one (default 1000 ms). */
  connectTimeoutMs?: number;
  /**
   * Receives connection-level errors (refused, reset, timeout). Command failures also reject the
   * call itself, so this is for logging and breaker metrics; default: ignored.
   */
  onError?: (err: Error) => void;
  /**
   * Receives what this backend found wrong with the server's configuration on each connection:
   * today an eviction policy other than `noeviction` (every key here has a TTL, so `volatile-*`
   * policies may evict them too — a budget-hold tombstone or a budget's counters). Default: ignored.
   */
  onWarning?: (message: string, fields: Record<string, unknown>) => void;
}

/**
 * The shared `StateBackend` on Redis 7, for deployments with several replicas.
 *
 * Fails fast by design (P7): the offline queue is disabled, so nothing queues behind an outage.
 * A call made while the connection is down waits at most `commandTimeoutMs` for it to come back
 * (this also covers the first connection after start-up) and then rejects; a sent command gives up
 * after another `commandTimeoutMs`; a command cut off by a dropped connection is never sent again
 * (it may have run). So a call spends at most about 2 × `commandTimeoutMs` on Redis. A connection
 * that answers nothing for `max(connectTimeoutMs, 2 × commandTimeoutMs)` while commands wait is
 * closed. Reconnection continues in the background with capped, jittered back-off, so the backend
 * heals by itself when Redis returns. What to do on rejection (bypass the cache, fall back to Postgres for budgets) is the
 * caller's policy.
 *
 * Multi-step operations are Lua scripts run by EVALSHA, falling back to EVAL when the server does
 * not have the script cached (after a restart or SCRIPT FLUSH).
 */
export function createRedisState(opts: RedisStateOptions): StateBackend {
  const prefix = opts.keyPrefix ?? "sb:";
  const connectTimeoutMs = opts.connectTimeoutMs ?? 1000;
  const commandTimeoutMs = opts.commandTimeoutMs ?? 50;
  const redis = new Redis(opts.url, {
    commandTimeout: commandTimeoutMs,
    connectTimeout: connectTimeoutMs,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    // A command whose connection dropped is not sent again on the next one: its caller has been
    // answered (a timeout) or is about to be, and it may already have run — sent again, an
    // increment or a rate-limit refund would count twice, whenever Redis came back.
    autoResendUnfulfilledCommands: false,
    // A connection that answers nothing while commands wait on it (a peer that vanished without
    // FIN or RST: a failover that moved the address, a NAT that forgot the flow) is closed and a
    // fresh one made, instead of timing every command out until the kernel gives up (~15 min).
    socketTimeout: Math.max(connectTimeoutMs, 2 * commandTimeoutMs),
    // A primary demoted by a failover keeps the connection and refuses every write (`READONLY`);
    // its address now leads to the new primary, so reconnect (the refused command did not run and
    // is rejected, not sent again).
    reconnectOnError: (err) => (err.message.startsWith("READONLY") ? 1 : false),
    // Not ioredis's auto-pipelining: it sends at most one batch per connection at a time, so with
    // a real round trip to Redis every command issued meanwhile waits for the previous batch's
    // replies (1 ms each way: 0.63 → 1.90 ms per call at 64 callers, p50 37 → 130 ms); and it
    // dispatches each command twice through a per-tick `Pipeline` (≈ 8 KB a call). `corkTick`
    // below gives the same one write per loop iteration without either.
    enableAutoPipelining: false,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 1000) + Math.floor(Math.random() * 50),
  });
  // A database index the server refuses (`/99` with the default 16 databases, any but 0 on a
  // cluster): ioredis reports the failed SELECT as an "error" and still becomes ready — on
  // database 0, shared with whatever else uses it. Every command is refused instead (money fails
  // closed, P7) and the operator told once.
  let refusedDatabase: Error | undefined;
  redis.on("error", (err: Error) => {
    if (refusedDatabase === undefined && (err as { command?: { name?: string } }).command?.name === "select") {
      refusedDatabase = new Error(`redis refused the database index of its URL (${err.message}); no command is sent`);
      opts.onWarning?.("redis refused the database index of REDIS_URL: the state backend refuses every command until the gateway restarts with a valid one", {
        reply: err.message,
      });
    }
    opts.onError?.(err);
  });
  if (opts.onWarning !== undefined) redis.on("ready", () => void checkEvictionPolicy(redis, opts.onWarning!));
  const runScript = createScriptRunner(redis);
  const corkTick = tickCorker(redis, () => windows.flush());
  let closed = false;
  /** Open and connected: a command can be written now. */
  const connected = (): boolean => !closed && refusedDatabase === undefined && redis.status === "ready";
  /**
   * `send()` once the client is connected — at once when it is, without an `await`: the methods
   * below chain promises rather than suspend an `async` frame per command in flight.
   */
  const whenReady = <T>(send: () => Promise<T>): Promise<T> => (connected() ? callSafely(send) : ready(commandTimeoutMs).then(send));
  const run: ScriptRunner = (lua, keys, args) =>
    whenReady(() => {
      corkTick();
      return runScript(lua, keys, args);
    });
  const k = (key: string): string => prefix + key;
  // Queued only while connected (`hitWindows`), so the turn's cork is there to flush it.
  const windows = createWindowBatcher((keys, args) => run(redisLua.hitWindows, keys, args), () => corkTick());

  /** Settles on the next "ready" (or "end"); one shared listener pair however many calls wait. */
  let nextReady: Promise<void> | undefined;
  function readySignal(): Promise<void> {
    nextReady ??= new Promise<void>((resolve, reject) => {
      const settle = (): void => {
        redis.off("ready", onReady);
        redis.off("end", onEnd);
        nextReady = undefined;
      };
      const onReady = (): void => {
        settle();
        resolve();
      };
      const onEnd = (): void => {
        settle();
        reject(new Error("redis connection ended"));
      };
      redis.on("ready", onReady);
      redis.on("end", onEnd);
    });
    return nextReady;
  }

  /** Resolves once the client is connected; rejects after `timeoutMs` or when closed. */
  async function ready(timeoutMs: number): Promise<void> {
    if (closed || redis.status === "end") throw new Error("redis state backend is closed");
    if (refusedDatabase !== undefined) throw refusedDatabase;
    if (redis.status === "ready") return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`redis not connected (${redis.status}) after waiting ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([readySignal(), timeout]);
    } finally {
      clearTimeout(timer);
    }
    // The refused SELECT is reported just before "ready" is acted on (its rejection is handled
    // in the same turn): checked again here, so the first commands are refused too.
    if (refusedDatabase !== undefined) throw refusedDatabase;
  }

  /** `hitWindows` after its argument checks: the turn's batch when it can join one, else a script of its own. */
  function hitWindows(entries: readonly WindowHitEntry[], windowMs: number, nowMs: number | undefined): Promise<WindowHits> {
    const keys = entries.map((entry) => k(entry.key));
    const pairs: number[] = [];
    for (const entry of entries) pairs.push(entry.cost, entry.limit);
    if (connected()) {
      const queued = windows.add(keys, pairs, windowMs, nowMs);
      if (queued !== undefined) return queued;
    }
    return windows.one(keys, pairs, windowMs, nowMs);
  }

  return {
    get(key) {
      return whenReady(() => {
        corkTick();
        return redis.getBuffer(k(key));
      }).then((value) => (value === null ? undefined : new Uint8Array(value)));
    },

    async set(key, value, ttlMs) {
      stateArguments.ttl(ttlMs);
      return whenReady(() => {
        corkTick();
        return redis.set(k(key), Buffer.from(value.buffer, value.byteOffset, value.byteLength), "PX", ttlMs);
      }).then(() => undefined);
    },

    async delete(key) {
      await ready(commandTimeoutMs);
      return (await redis.del(k(key))) > 0;
    },

    async deleteByPrefix(keyPrefix) {
      const match = `${escapeGlob(prefix + keyPrefix)}*`;
      let cursor = "0";
      let removed = 0;
      await ready(commandTimeoutMs);
      do {
        const [next, keys] = await redis.scan(cursor, "MATCH", match, "COUNT", 500);
        cursor = next;
        if (keys.length > 0) removed += await redis.unlink(...keys);
      } while (cursor !== "0");
      return removed;
    },

    async increment(key, delta, ttlMs) {
      stateArguments.delta(delta);
      stateArguments.ttl(ttlMs);
      return Number(await run(redisLua.increment, [k(key)], [delta, ttlMs]));
    },

    async incrementMany(entries, ttlMs) {
      stateArguments.increments(entries);
      stateArguments.ttl(ttlMs);
      if (entries.length === 0) return [];
      const reply = (await run(
        redisLua.incrementMany,
        entries.map((entry) => k(entry.key)),
        [ttlMs, ...entries.map((entry) => entry.delta)],
      )) as number[];
      return reply.map(Number);
    },

    async reserve(entries: readonly ReserveEntry[], ttlMs: number): Promise<ReserveResult> {
      stateArguments.reserve(entries);
      stateArguments.ttl(ttlMs);
      const reply = (await run(
        redisLua.reserve,
        entries.map((entry) => k(entry.key)),
        [ttlMs, ...entries.flatMap((entry) => [entry.amount, entry.limit])],
      )) as number[];
      return reply[0] === 1 ? { ok: true } : { ok: false, index: Number(reply[1]), current: Number(reply[2]) };
    },

    async release(entries: readonly ReleaseEntry[], ttlMs: number): Promise<void> {
      stateArguments.release(entries);
      stateArguments.ttl(ttlMs);
      if (entries.length === 0) return;
      await run(
        redisLua.release,
        entries.map((entry) => k(entry.key)),
        [ttlMs, ...entries.map((entry) => entry.amount)],
      );
    },

    async reserveHold(hold, journal, ttlMs): Promise<HoldResult> {
      const entries = [hold.marker, ...hold.counters];
      const requires = hold.requires ?? [];
      stateArguments.reserve(entries);
      stateArguments.ttl(ttlMs);
      holdArguments.journal(journal);
      holdArguments.keys(hold.counters.map((entry) => entry.key));
      return run(
        redisHoldLua.reserveHold,
        [...entries.map((entry) => k(entry.key)), k(journal.index), ...requires.map(k)],
        [ttlMs, journal.member, journal.owner, ...entries.flatMap((entry) => [entry.amount, entry.limit]), ...hold.counters.map((entry) => entry.key), requires.length],
      ).then((value): HoldResult => {
        const reply = value as number[];
        if (reply[0] === 2) return { ok: false, missing: reply.slice(1).map((position) => Number(position) - 1) };
        return reply[0] === 1 ? { ok: true } : { ok: false, index: Number(reply[1]), current: Number(reply[2]) };
      });
    },

    async settleHold(settlement, ttlMs): Promise<SettledHold> {
      stateArguments.release([...settlement.add, ...settlement.replace]);
      stateArguments.ttl(ttlMs);
      holdArguments.keys(settlement.replace.map((entry) => entry.key));
      return run(
        redisHoldLua.settleHold,
        [k(settlement.marker), k(settlement.index), ...settlement.add.map((e) => k(e.key)), ...settlement.replace.map((e) => k(e.key))],
        [ttlMs, settlement.member, settlement.add.length, ...settlement.add.map((e) => e.amount), ...settlement.replace.map((e) => e.amount), ...settlement.replace.map((e) => e.key)],
      ).then((value): SettledHold => {
        const reply = value as number[];
        if (reply[0] !== 1) return { settled: false };
        const counters = new Map<string, number>();
        [...settlement.add, ...settlement.replace].forEach((entry, i) => counters.set(entry.key, Number(reply[1 + i])));
        return { settled: true, counters };
      });
    },

    async openHolds(index): Promise<OpenHold[]> {
      await ready(commandTimeoutMs);
      const fields = await redis.hgetall(k(index));
      return Object.entries(fields).map(([member, raw]) => holdRecord.decode(member, raw));
    },

    async releaseHolds(index, holds, markerTtlMs): Promise<OpenHold[]> {
      stateArguments.ttl(markerTtlMs);
      if (holds.length === 0) return [];
      const keys = [...new Set(holds.flatMap((hold) => hold.keys))];
      holdArguments.keys(keys);
      const reply = (await run(
        redisHoldLua.releaseHolds,
        [k(index), ...holds.map((hold) => k(hold.marker)), ...keys.map(k)],
        [markerTtlMs, holds.length, ...holds.flatMap((hold) => [hold.member, hold.owner]), ...keys],
      )) as string[];
      const released: OpenHold[] = [];
      for (let i = 0; i + 1 < reply.length; i += 2) released.push(holdRecord.decode(reply[i]!, reply[i + 1]!));
      return released;
    },

    async hitWindow(key, cost, limit, windowMs, nowMs): Promise<WindowHit> {
      stateArguments.window(cost, limit, windowMs, nowMs);
      return (await hitWindows([{ key, cost, limit }], windowMs, nowMs)).hits[0]!;
    },

    async hitWindows(entries, windowMs, nowMs): Promise<WindowHits> {
      stateArguments.windows(entries, windowMs, nowMs);
      if (entries.length === 0) return { admitted: true, hits: [] };
      return hitWindows(entries, windowMs, nowMs);
    },

    async unhitWindows(entries, windowMs, window) {
      stateArguments.unhit(entries, windowMs, window);
      if (entries.length === 0) return;
      await run(
        redisLua.unhitWindows,
        entries.map((entry) => k(entry.key)),
        [String(window), ...entries.map((entry) => entry.cost)],
      );
    },

    async ping() {
      await ready(connectTimeoutMs);
      await redis.ping();
    },

    async close() {
      if (closed) return;
      closed = true;
      try {
        if (redis.status === "ready") await redis.quit();
      } catch {
        // Quitting is a courtesy to the server; the socket is torn down below either way.
      } finally {
        redis.disconnect();
      }
    },
  };
}

/**
 * Holds the connection's writes until the end of this turn of the event loop (`setImmediate`, after
 * every I/O callback of the turn), so the commands of all the requests served in one turn leave in
 * one `writev` — the batching auto-pipelining gave — while each command is still written, and its
 * reply matched, as ioredis does without a pipeline. Call it just before sending a command.
 */
function tickCorker(redis: Redis, beforeUncork: () => void): () => void {
  let corked = false;
  return () => {
    if (corked) return;
    const stream = redis.stream;
    corked = true;
    stream.cork();
    setImmediate(() => {
      // What waited for the end of the turn (the window checks' batch) joins its write.
      beforeUncork();
      corked = false;
      stream.uncork();
    });
  };
}

type ScriptRunner = (lua: string, keys: string[], args: (string | number)[]) => Promise<unknown>;

/** Runs a Lua script by SHA1, loading it with EVAL when the server does not know it yet. */
function createScriptRunner(redis: Redis): ScriptRunner {
  const shas = new Map<string, string>();
  return (lua, keys, args) => {
    let sha = shas.get(lua);
    if (sha === undefined) {
      sha = createHash("sha1").update(lua).digest("hex");
      shas.set(lua, sha);
    }
    return redis.evalsha(sha, keys.length, ...keys, ...args).catch((err: unknown) => {
      if (!(err instanceof Error) || !err.message.startsWith("NOSCRIPT")) throw err;
      return redis.eval(lua, keys.length, ...keys, ...args);
    });
  };
}

/** Escapes Redis glob metacharacters so a SCAN pattern matches `text` literally. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, "\\$&");
}

/**
 * Warns when the server may evict keys: an evicted tombstone lets a reserve lost to a hung
 * connection land after all (its hold then stays until its counters expire), an evicted budget
 * counter is re-seeded from the ledger without the last flush interval's spend. Managed services
 * that disable `CONFIG` get no check: nothing is known there, so nothing is said.
 */
async function checkEvictionPolicy(redis: Redis, warn: (message: string, fields: Record<string, unknown>) => void): Promise<void> {
  let reply: unknown;
  try {
    reply = await redis.config("GET", "maxmemory-policy");
  } catch {
    return;
  }
  const policy = Array.isArray(reply) ? reply[1] : undefined;
  if (typeof policy === "string" && policy !== "noeviction") {
    warn("redis may evict the gateway's keys (budget counters, hold tombstones); run it with maxmemory-policy noeviction", { maxmemoryPolicy: policy });
  }
}
