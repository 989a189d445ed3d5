import { constants as fsConstants } from "node:fs";
import { mkdir, open, readdir, readFile, unlink, type FileHandle } from "node:fs/promises";
import * as path from "node:path";
import type { Logger } from "../observability/logger.js";
import { claimFolder, releaseFolder } from "../runtime/folder-lock.js";
import type { UsageRecordRow, UsageStore } from "../store/usage-store.js";
import { decodeLedgerSegment, encodeLedgerLine } from "./ledger-codec.js";
import { commitLedgerBatch } from "./ledger-commit.js";

/** Dependencies of {@link createLedgerWriter}. */
export interface LedgerWriterDeps {
  /** Where records are committed (Postgres, the authority). */
  store: Pick<UsageStore, "insertBatch" | "deadLetter">;
  /** The buffer's folder: one per replica, on a local disk; created if missing. */
  dir: string;
  logger: Logger;
}

/** Options of {@link createLedgerWriter}; every default is documented in the README. */
export interface LedgerWriterOptions {
  /** Flush every this many ms (default 200). */
  flushIntervalMs?: number;
  /** Flush at once when this many records wait (default 500). */
  flushRows?: number;
  /** Rows per insert statement (default 1000). */
  batchRows?: number;
  /**
   * Records allowed to wait for Postgres (default 100 000). At the bound `hasCapacity()` turns
   * false and the usage stage sheds new paid calls; calls already running still append.
   */
  maxPendingRows?: number;
  /**
   * `always` (default): every append is on disk (`fdatasync`) before it is acknowledged, so the
   * records survive a power loss. `never`: written to the OS, which survives a crash of the
   * process but not of the machine. Concurrent appends share one write and one sync.
   * Where the platform has `O_DSYNC` (Linux, macOS) the file is opened with it, so that write
   * returns only once the data is on disk — what `fdatasync` after it guarantees — in one system
   * call and one thread-pool hop instead of two (one fewer wake-up per appended batch).
   */
  fsync?: "always" | "never";
  /** Longest wait between retries while Postgres is unreachable (default 5000 ms). */
  maxRetryDelayMs?: number;
}

/** The durable write buffer in front of the ledger. */
export interface LedgerWriter {
  /** Loads the records a previous run left in `dir` (replayed idempotently) and starts flushing. */
  start(): Promise<{ replayed: number }>;
  /**
   * Resolves once the records are in the buffer file (synced per `fsync`); they reach Postgres
   * later, in batches, off the caller's path. Never drops a record: should the disk fail, the
   * records wait in memory and `hasCapacity()` turns false until a write succeeds again.
   */
  append(records: readonly UsageRecordRow[]): Promise<void>;
  /** Whether new paid calls may start: the disk works and the backlog is under its bound. */
  hasCapacity(): boolean;
  /**
   * How long a call shed for want of capacity should wait before retrying, in ms: the wait
   * before the next flush attempt — the first moment room can come back — which is
   * `flushIntervalMs` while flushes succeed and the doubling backoff (up to `maxRetryDelayMs`)
   * while Postgres is unreachable or the disk fails.
   */
  retryDelayMs(): number;
  /** Records not yet committed to Postgres. */
  pending(): number;
  /** Commits everything appended so far; rejects when Postgres is unreachable. */
  flush(): Promise<void>;
  /** Stops the timer, tries a last flush; what is left stays in `dir` for the next start. */
  close(): Promise<void>;
}

/** One buffer file and the records it holds. */
interface Segment {
  file: string;
  records: UsageRecordRow[];
  /** Records of this segment already committed (a retry resumes here; replays are no-ops anyway). */
  committed: number;
  handle?: FileHandle;
  /** A write to it failed: no more appends, so a torn line can only be its last. */
  broken?: boolean;
}

/** `open(file, "a")`'s flags, to which `O_DSYNC` is added when every append must be durable. */
const APPEND = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_APPEND;
/** Undefined where the platform has no `O_DSYNC` (Windows): there each write is followed by `datasync()`. */
const DSYNC: number | undefined = fsConstants.O_DSYNC;

/** The lock file of a ledger buffer folder (`runtime/folder-lock.ts`). */
export const LEDGER_LOCK = "ledger.lock";

/** A buffer file's name (also what adoption looks for in orphaned folders). */
export const LEDGER_SEGMENT = /^ledger-[\w-]+\.jsonl$/;

/**
 * A ledger writer: records are appended to a local append-only file before the call that made
 * them is acknowledged, and committed to Postgres in batches every `flushIntervalMs` (or at
 * `flushRows`) with `on conflict do nothing` on the ledger's unique key. A file is removed only
 * after every record in it was committed; on start, files left by a crash are replayed — a
 * record committed before the crash is skipped by the unique key, so a replay never double-
 * counts (P2) and nothing acknowledged is lost (P3, P4).
 *
 * Appends go to the active segment; each flush seals it and starts a new one, so committing a
 * sealed file never races with appends. While Postgres is unreachable the flush retries with
 * doubling delays up to `maxRetryDelayMs`, and the backlog grows up to `maxPendingRows`, beyond
 * which paid calls are shed (the usage stage asks `hasCapacity`) rather than records dropped.
 * A batch Postgres refuses for its content (SQLSTATE 22/23) is retried row by row, and only the
 * rows refused on their own go to `usage_dead_letters` (logged at error level).
 */
export function createLedgerWriter(deps: LedgerWriterDeps, opts: LedgerWriterOptions = {}): LedgerWriter {
  const flushIntervalMs = opts.flushIntervalMs ?? 200;
  const flushRows = opts.flushRows ?? 500;
  const batchRows = opts.batchRows ?? 1000;
  const maxPendingRows = opts.maxPendingRows ?? 100_000;
  const fsync = (opts.fsync ?? "always") === "always";
  const maxRetryDelayMs = opts.maxRetryDelayMs ?? 5000;
  const { logger } = deps;

  const sealed: Segment[] = [];
  let active: Segment | undefined;
  let pendingCount = 0;
  let seq = 0;
  let diskHealthy = true;
  let closed = false;
  let started = false;
  /** Unreadable lines found on replay, dead-lettered by the next flush. */
  const unreadable: { record: string; error: string }[] = [];
  /** File operations (appends, seals) run one at a time, in order. */
  let fileOps: Promise<void> = Promise.resolve();
  let queue: { lines: string; records: readonly UsageRecordRow[]; done: () => void }[] = [];
  let flushing: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let delay = flushIntervalMs;

  const serial = (op: () => Promise<void>): Promise<void> => {
    const run = fileOps.then(op);
    fileOps = run.catch(() => undefined);
    return run;
  };

  const newSegment = async (): Promise<Segment> => {
    const file = path.join(deps.dir, `ledger-${String(Date.now()).padStart(15, "0")}-${process.pid}-${seq++}.jsonl`);
    const handle = await open(file, fsync && DSYNC !== undefined ? APPEND | DSYNC : APPEND);
    if (fsync) await syncDir(deps.dir);
    return { file, records: [], committed: 0, handle };
  };

  /** Writes every queued append with one write and one sync (group commit). */
  const writeQueued = async (): Promise<void> => {
    const batch = queue;
    queue = [];
    if (batch.length === 0) return;
    const records = batch.flatMap((b) => b.records);
    try {
      if (active === undefined || active.broken) {
        if (active !== undefined) seal(active);
        active = await newSegment();
      }
      await active.handle!.write(batch.map((b) => b.lines).join(""));
      if (fsync && DSYNC === undefined) await active.handle!.datasync();
      active.records.push(...records);
      diskHealthy = true;
    } catch (err) {
      // Not durable, but never dropped: kept in memory and committed like the rest; new paid
      // calls are shed until a write succeeds again.
      diskHealthy = false;
      logger.error({ err, records: records.length }, "ledger buffer write failed; holding the records in memory");
      if (active === undefined) active = { file: "", records: [], committed: 0 };
      active.broken = true;
      active.records.push(...records);
    }
    pendingCount += records.length;
    for (const b of batch) b.done();
    if (pendingCount >= flushRows) kick();
  };

  const seal = (segment: Segment): void => {
    void segment.handle?.close().catch(() => undefined);
    segment.handle = undefined;
    sealed.push(segment);
    if (active === segment) active = undefined;
  };

  const commitSegment = async (segment: Segment): Promise<void> => {
    while (segment.committed < segment.records.length) {
      const batch = segment.records.slice(segment.committed, segment.committed + batchRows);
      await commitLedgerBatch(deps, batch, "ledger record refused by Postgres; dead-lettered");
      segment.committed += batch.length;
      pendingCount -= batch.length;
    }
    if (segment.file !== "") await unlink(segment.file).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "ENOENT") throw err;
    });
  };

  /**
   * With the disk failing and nothing queued, tries a write: paid calls are shed meanwhile, so
   * none would append, and without this the capacity would never come back.
   */
  const probeDisk = async (): Promise<void> => {
    const file = path.join(deps.dir, `probe-${process.pid}.tmp`);
    try {
      const handle = await open(file, "w");
      try {
        await handle.write("\n");
        if (fsync) await handle.datasync();
      } finally {
        await handle.close();
      }
      await unlink(file);
      diskHealthy = true;
    } catch {
      // still failing: try again at the next flush
    }
  };

  const flushOnce = async (): Promise<void> => {
    await serial(async () => {
      await writeQueued();
      if (active !== undefined && active.records.length > 0) seal(active);
      if (!diskHealthy && queue.length === 0) await probeDisk();
    });
    if (unreadable.length > 0) {
      await deps.store.deadLetter(unreadable);
      unreadable.length = 0;
    }
    while (sealed.length > 0) {
      await commitSegment(sealed[0]!);
      sealed.shift();
    }
  };

  const runFlush = (): Promise<void> => {
    flushing ??= flushOnce().finally(() => (flushing = undefined));
    return flushing;
  };

  const schedule = (ms: number): void => {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      runFlush().then(
        () => {
          delay = flushIntervalMs;
          schedule(delay);
        },
        (err: unknown) => {
          delay = Math.min(delay * 2, maxRetryDelayMs);
          logger.warn({ err: err instanceof Error ? err.message : String(err), pending: pendingCount, retryInMs: delay }, "ledger flush failed; retrying");
          schedule(delay);
        },
      );
    }, ms);
    timer.unref();
  };

  /** An early flush once enough records wait, unless one is running or backing off. */
  const kick = (): void => {
    if (flushing === undefined && delay === flushIntervalMs) schedule(0);
  };

  return {
    async start() {
      if (started) throw new Error("ledger writer already started");
      started = true;
      await mkdir(deps.dir, { recursive: true });
      await lockDir(deps.dir);
      let replayed = 0;
      for (const name of (await readdir(deps.dir)).filter((n) => LEDGER_SEGMENT.test(n)).sort()) {
        const file = path.join(deps.dir, name);
        const text = await readFile(file, "utf8");
        const segment = decodeLedgerSegment(text);
        if (segment.torn !== "") logger.warn({ file }, "ignoring the unacknowledged last line of a ledger buffer file");
        const records = segment.records;
        unreadable.push(...segment.unreadable);
        sealed.push({ file, records, committed: 0 });
        pendingCount += records.length;
        replayed += records.length;
      }
      if (replayed > 0) logger.info({ records: replayed }, "replaying the ledger buffer left by an earlier run");
      schedule(replayed > 0 || unreadable.length > 0 ? 0 : flushIntervalMs);
      return { replayed };
    },

    append(records) {
      if (closed) return Promise.reject(new Error("ledger writer is closed"));
      if (records.length === 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        queue.push({ lines: records.map(encodeLedgerLine).join(""), records, done: resolve });
        if (queue.length === 1) void serial(writeQueued);
      });
    },

    hasCapacity: () => !closed && diskHealthy && pendingCount < maxPendingRows,

    retryDelayMs: () => delay,

    pending: () => pendingCount,

    async flush() {
      if (flushing !== undefined) await flushing.catch(() => undefined);
      await runFlush();
    },

    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(timer);
      await serial(writeQueued);
      try {
        if (flushing !== undefined) await flushing.catch(() => undefined);
        await runFlush();
      } catch (err) {
        logger.warn({ err: err instanceof Error ? err.message : String(err), pending: pendingCount }, "ledger not fully flushed at close; the rest is replayed on the next start");
      }
      for (const segment of [...sealed, ...(active ? [active] : [])]) await segment.handle?.close().catch(() => undefined);
      // With records left, the lock stays: once this process is gone, its next start, or another
      // replica adopting orphaned folders (see `ledger-adoption.ts`), replays them.
      if (started && pendingCount === 0) await releaseFolder(deps.dir, LEDGER_LOCK);
    },
  };
}

/**
 * Claims the buffer folder for this process: a second live process on the same folder would
 * replay (and delete) files the first is still appending to. A lock left by a process that is
 * gone (a crash) is taken over.
 */
async function lockDir(dir: string): Promise<void> {
  await claimFolder(dir, LEDGER_LOCK, (holder) => new Error(`the ledger folder ${dir} is in use by process ${holder.pid} on ${holder.host}; give every replica its own ledger.dir`));
}

/** Makes a new file's directory entry durable (so a power loss cannot lose the whole file). */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } catch {
    // Some filesystems refuse fsync on a directory; the file's own syncs still hold.
  } finally {
    await handle.close();
  }
}
