import { mkdir, readdir, readFile, unlink, type FileHandle } from "node:fs/promises";
import * as path from "node:path";
import type { Logger } from "../observability/logger.js";
import type { UsageRecordRow, UsageStore } from "../store/usage-store.js";
import { decodeLedgerSegment, encodeLedgerLine } from "./ledger-codec.js";
import { commitLedgerBatch } from "./ledger-commit.js";
import { holderAlive, LEDGER_LOCK, readLedgerLock, writeLedgerLock } from "./ledger-lock.js";
import { createSegmentFile, DSYNC, recycleSegmentFile, removeSegmentFile, ZEROING_SEGMENT } from "./ledger-segment-file.js";

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
  /** Bytes written to the file: where the next write goes (a reused file holds zeroes beyond). */
  written: number;
  /** A write to it failed: no more appends, so a torn line can only be its last. */
  broken?: boolean;
  /** Found at start: written by an earlier run. */
  replayed?: boolean;
}

/** A buffer file's name (also what adoption looks for in orphaned folders). */
export const LEDGER_SEGMENT = /^ledger-[\w-]+\.jsonl$/;

/**
 * A ledger writer: records are appended to a local file before the call that made them is
 * acknowledged, and committed to Postgres in batches every `flushIntervalMs` (or at
 * `flushRows`) with `on conflict do nothing` on the ledger's unique key. A file is removed or
 * reused only after every record in it was committed; on start, files left by a crash are replayed — a
 * record committed before the crash is skipped by the unique key, so a replay never double-
 * counts (P2) and nothing acknowledged is lost (P3, P4).
 *
 * Appends go to the active segment; each flush seals it and starts a new one, so committing a
 * sealed file never races with appends. A committed segment's file is zeroed and kept as the next
 * segment (`ledger-segment-file.ts`): writing inside blocks the file already holds spares each
 * synced append a journal commit. While Postgres is unreachable the flush retries with
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
  /** The next segment: a committed one's file, zeroed (at most one is kept). */
  let spare: Segment | undefined;
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

  const segmentName = (kind = "") => path.join(deps.dir, `ledger-${kind}${String(Date.now()).padStart(15, "0")}-${process.pid}-${seq++}`);

  const newSegment = async (): Promise<Segment> => {
    const reused = spare;
    spare = undefined;
    if (reused !== undefined) return reused;
    const file = `${segmentName()}.jsonl`;
    return { file, records: [], committed: 0, written: 0, handle: await createSegmentFile(file, deps.dir, fsync) };
  };

  /** A committed segment's file: kept, zeroed, as the next segment if none is; otherwise removed. */
  const retire = async (segment: Segment): Promise<void> => {
    if (segment.file === "") return;
    if (segment.broken || spare !== undefined || closed) return removeSegmentFile(segment.file);
    const aside = `${segmentName("zeroing-")}.tmp`;
    const file = `${segmentName()}.jsonl`;
    try {
      // A segment replayed at start was not written by this run: all of its file is zeroed.
      const handle = await recycleSegmentFile(segment.file, aside, file, deps.dir, fsync, segment.replayed ? undefined : segment.written);
      if (handle === undefined) return;
      if (spare !== undefined || closed) {
        await handle.close();
        return removeSegmentFile(file);
      }
      spare = { file, records: [], committed: 0, written: 0, handle };
    } catch (err) {
      // Its records are committed: the file is only a head start for the next segment.
      logger.warn({ err: err instanceof Error ? err.message : String(err) }, "ledger buffer file could not be reused; removing it");
      for (const name of [segment.file, aside, file]) await removeSegmentFile(name).catch(() => undefined);
    }
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
      const bytes = Buffer.from(batch.map((b) => b.lines).join(""));
      const { bytesWritten } = await active.handle!.write(bytes, 0, bytes.length, active.written);
      // A short write leaves a torn line: the segment takes no more (the line stays its last).
      if (bytesWritten !== bytes.length) throw new Error(`short write: ${bytesWritten} of ${bytes.length} bytes`);
      active.written += bytes.length;
      if (fsync && DSYNC === undefined) await active.handle!.datasync();
      active.records.push(...records);
      diskHealthy = true;
    } catch (err) {
      // Not durable, but never dropped: kept in memory and committed like the rest; new paid
      // calls are shed until a write succeeds again.
      diskHealthy = false;
      logger.error({ err, records: records.length }, "ledger buffer write failed; holding the records in memory");
      if (active === undefined) active = { file: "", records: [], committed: 0, written: 0 };
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
    await retire(segment);
  };

  const flushOnce = async (): Promise<void> => {
    await serial(async () => {
      await writeQueued();
      if (active !== undefined && active.records.length > 0) seal(active);
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
      const names = await readdir(deps.dir);
      // Files a crash left while zeroing them held only committed records.
      for (const name of names.filter((n) => ZEROING_SEGMENT.test(n))) await removeSegmentFile(path.join(deps.dir, name));
      for (const name of names.filter((n) => LEDGER_SEGMENT.test(n)).sort()) {
        const file = path.join(deps.dir, name);
        const text = await readFile(file, "utf8");
        const segment = decodeLedgerSegment(text);
        if (segment.torn !== "") logger.warn({ file }, "ignoring the unacknowledged last line of a ledger buffer file");
        const records = segment.records;
        unreadable.push(...segment.unreadable);
        sealed.push({ file, records, committed: 0, written: 0, replayed: true });
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
      if (spare !== undefined) {
        await spare.handle?.close().catch(() => undefined);
        await removeSegmentFile(spare.file).catch(() => undefined);
        spare = undefined;
      }
      // With records left, the lock stays: once this process is gone, its next start, or another
      // replica adopting orphaned folders (see `ledger-adoption.ts`), replays them.
      if (started && pendingCount === 0) await unlink(path.join(deps.dir, LEDGER_LOCK)).catch(() => undefined);
    },
  };
}

/**
 * Claims the buffer folder for this process: a second live process on the same folder would
 * replay (and delete) files the first is still appending to. A lock left by a process that is
 * gone (a crash) is taken over.
 */
async function lockDir(dir: string): Promise<void> {
  try {
    await writeLedgerLock(dir, true);
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  const holder = await readLedgerLock(dir);
  if (holder !== undefined && holder.pid > 0 && holder.pid !== process.pid && holderAlive(holder)) {
    throw new Error(`the ledger folder ${dir} is in use by process ${holder.pid} on ${holder.host}; give every replica its own ledger.dir`);
  }
  await writeLedgerLock(dir, false);
}
