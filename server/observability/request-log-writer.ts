import type { Logger } from "./logger.js";
import type { RequestLogRow, RequestLogStore } from "../store/request-log-store.js";
import { isRowRejection } from "../store/row-rejection.js";

/** Dependencies of {@link createRequestLogWriter}. */
export interface RequestLogWriterDeps {
  store: RequestLogStore;
  logger: Logger;
  now?: () => Date;
}

/** Options of {@link createRequestLogWriter}. */
export interface RequestLogWriterOptions {
  /** Days a partition is kept after its day ended (`requestLog.retentionDays`, default 7). */
  retentionDays?: number;
  /** Daily partitions created ahead of today (default 2). */
  aheadDays?: number;
  /** How often buffered rows are written (default 1 s). */
  flushIntervalMs?: number;
  /** How often partitions are created and dropped (default 1 h). */
  maintenanceIntervalMs?: number;
  /** Rows allowed to wait; beyond, new rows are dropped and counted (default 10 000). */
  maxPendingRows?: number;
}

/**
 * Writes request-log rows off the request path: appended rows are batched and inserted every
 * `flushIntervalMs`, and the partitions are maintained at start and every
 * `maintenanceIntervalMs` (one replica at a time, under an advisory lock). The request log is a
 * debugging aid, not money: when Postgres is slow or down, rows wait in a bounded buffer and the
 * overflow is dropped and counted rather than slowing requests or growing memory. A batch Postgres
 * refuses for a row's content (SQLSTATE class 22 or 23, after making a missing partition) is
 * written again one row at a time, and the rows it still refuses are dropped, counted and
 * logged: one bad row never holds the rows behind it back.
 */
export interface RequestLogWriter {
  append(row: RequestLogRow): void;
  /** Rows waiting to be written (the `/metrics` gauge). */
  pending(): number;
  /** Rows dropped because the buffer was full. */
  dropped(): number;
  /** Rows dropped because Postgres refused them (their content, not an outage). */
  rejected(): number;
  /** Writes what is buffered now. */
  flush(): Promise<void>;
  /** Creates and drops partitions now. */
  maintain(): Promise<void>;
  /** Runs the first maintenance and starts the timers. */
  start(): Promise<void>;
  /** Stops the timers and writes what is left. */
  close(): Promise<void>;
}

/** Creates a writer over `store`. */
export function createRequestLogWriter(deps: RequestLogWriterDeps, opts: RequestLogWriterOptions = {}): RequestLogWriter {
  const now = deps.now ?? (() => new Date());
  const retentionDays = opts.retentionDays ?? 7;
  const aheadDays = opts.aheadDays ?? 2;
  const maxPending = opts.maxPendingRows ?? 10_000;
  let buffer: RequestLogRow[] = [];
  let droppedRows = 0;
  let rejectedRows = 0;
  let flushing: Promise<void> | undefined;
  const timers: NodeJS.Timeout[] = [];

  const maintain = async () => {
    const result = await deps.store.maintain({ now: now(), aheadDays, retentionDays });
    if (result.created.length > 0 || result.dropped.length > 0) {
      deps.logger.info({ created: result.created, dropped: result.dropped }, "request log partitions maintained");
    }
  };
  const write = async (rows: RequestLogRow[]) => {
    try {
      await deps.store.insert(rows);
    } catch (err) {
      // 23514: a row's day has no partition yet (a clock jump, or the first flush after midnight
      // on a replica whose maintenance lost the lock race): make them and try once more.
      if ((err as { code?: string }).code !== "23514") throw err;
      await maintain();
      await deps.store.insert(rows);
    }
  };
  const flush = (): Promise<void> => {
    flushing ??= (async () => {
      const failed = (err: unknown) => deps.logger.warn({ err: err instanceof Error ? err.message : String(err), pending: buffer.length }, "request log write failed; retrying later");
      while (buffer.length > 0) {
        const batch = buffer.slice(0, 500);
        try {
          await write(batch);
          buffer = buffer.slice(batch.length);
          continue;
        } catch (err) {
          if (!isRowRejection(err)) return failed(err);
        }
        // A row Postgres refuses: find it by writing the batch's rows one at a time.
        for (const row of batch) {
          try {
            await write([row]);
          } catch (err) {
            if (!isRowRejection(err)) return failed(err);
            rejectedRows++;
            deps.logger.warn({ err: err instanceof Error ? err.message : String(err), requestId: row.request_id }, "request log row refused by Postgres; dropped");
          }
          buffer.shift();
        }
      }
    })().finally(() => (flushing = undefined));
    return flushing;
  };

  return {
    append(row) {
      if (buffer.length >= maxPending) {
        droppedRows++;
        return;
      }
      buffer.push(row);
    },
    pending: () => buffer.length,
    dropped: () => droppedRows,
    rejected: () => rejectedRows,
    flush,
    maintain,
    async start() {
      await maintain().catch((err: unknown) => deps.logger.warn({ err: err instanceof Error ? err.message : String(err) }, "request log maintenance failed"));
      const every = (ms: number, fn: () => Promise<void>) => {
        const t = setInterval(() => void fn().catch(() => undefined), ms);
        t.unref();
        timers.push(t);
      };
      every(opts.flushIntervalMs ?? 1_000, flush);
      every(opts.maintenanceIntervalMs ?? 3_600_000, () =>
        maintain().catch((err: unknown) => deps.logger.warn({ err: err instanceof Error ? err.message : String(err) }, "request log maintenance failed")),
      );
    },
    async close() {
      for (const t of timers.splice(0)) clearInterval(t);
      await flushing;
      await flush();
    },
  };
}
