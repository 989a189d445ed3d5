import { constants as fsConstants } from "node:fs";
import { open, rename, stat, unlink, type FileHandle } from "node:fs/promises";

/**
 * The files of the ledger's write buffer. A segment is written at positions the writer tracks
 * (no `O_APPEND`), so a file can be written again from its start: once every record in it is
 * committed, {@link recycleSegmentFile} zeroes it and hands it back as the next segment. An
 * `O_DSYNC` write inside blocks a file already holds is a data write and a cache flush; a write
 * that grows the file also commits the file system's journal (its new size) — ≈ 50–65 µs more a
 * write on this project's machines (bench/README, sixteenth and eighteenth passes). It is how
 * Postgres reuses its WAL segments; here the zeroes mark where the written part ends (a raw NUL
 * byte never occurs in a buffer line: JSON escapes it), so a segment's text is its lines, then
 * zeroes.
 */

/** Where the platform has no `O_DSYNC` (Windows) it is undefined: each write is then followed by `datasync()`. */
export const DSYNC: number | undefined = fsConstants.O_DSYNC;

/** Largest file zeroed for reuse; a bigger one (the backlog of an outage) is deleted instead. */
export const MAX_REUSED_BYTES = 8 * 1024 * 1024;

/**
 * The least size of a reused file: a quarter beyond what it held, in whole pages, so a next segment
 * a little larger than the last one still writes inside zeroes (a write past them grows the file
 * again). Zeroes written stay within 1.25 times the records written, whatever the traffic.
 */
export function zeroedLength(size: number): number {
  return Math.min(MAX_REUSED_BYTES, Math.ceil((size * 1.25) / 4096) * 4096);
}

/** A segment file being aside while it is zeroed: never replayed (it holds only committed records), deleted at start. */
export const ZEROING_SEGMENT = /^ledger-zeroing-[\w-]+\.tmp$/;

const ZEROS = Buffer.alloc(64 * 1024);

/** Flags of a segment open for writing: `O_DSYNC` when every write must be on disk before it returns. */
function writeFlags(durable: boolean): number {
  return fsConstants.O_WRONLY | (durable && DSYNC !== undefined ? DSYNC : 0);
}

/** Creates a new, empty segment file; with `durable`, its directory entry is on disk when this resolves. */
export async function createSegmentFile(file: string, dir: string, durable: boolean): Promise<FileHandle> {
  const handle = await open(file, writeFlags(durable) | fsConstants.O_CREAT | fsConstants.O_EXCL);
  if (durable) await syncDir(dir);
  return handle;
}

/**
 * Turns a segment whose records are all committed into the next one: renamed to `aside` (so a
 * crash while it is zeroed leaves no half-zeroed segment to replay), its `written` bytes (all of
 * it when unknown: a file replayed at start) overwritten with zeroes and the file grown to
 * {@link zeroedLength} with more, synced (with `durable`: the zeroes must be on disk before records
 * are, or a power loss could bring the old lines back behind the new ones), renamed to `next` and
 * opened for writing, its directory entry synced. Beyond `written` a file this writer reused holds
 * zeroes already. An empty file, or one above {@link MAX_REUSED_BYTES}, is removed instead
 * (`undefined`). Rejects, leaving the file under one of the two names, if a step fails.
 */
export async function recycleSegmentFile(file: string, aside: string, next: string, dir: string, durable: boolean, written?: number): Promise<FileHandle | undefined> {
  const { size } = await stat(file);
  const used = Math.min(written ?? size, size);
  if (used === 0 || size > MAX_REUSED_BYTES) {
    await removeSegmentFile(file);
    return undefined;
  }
  await rename(file, aside);
  const zeroing = await open(aside, "r+");
  try {
    await writeZeroes(zeroing, 0, used);
    await writeZeroes(zeroing, size, zeroedLength(used));
    if (durable) await zeroing.datasync();
  } finally {
    await zeroing.close();
  }
  await rename(aside, next);
  const handle = await open(next, writeFlags(durable));
  if (durable) {
    await syncDir(dir).catch(async (err: unknown) => {
      await handle.close();
      throw err;
    });
  }
  return handle;
}

/** Writes zeroes over `[from, to)` (nothing when `to <= from`). */
async function writeZeroes(handle: FileHandle, from: number, to: number): Promise<void> {
  for (let at = from; at < to; at += ZEROS.length) {
    const chunk = Math.min(ZEROS.length, to - at);
    const { bytesWritten } = await handle.write(ZEROS, 0, chunk, at);
    if (bytesWritten !== chunk) throw new Error(`short write zeroing a ledger buffer file`);
  }
}

/** Removes `file`; one already gone is fine. */
export async function removeSegmentFile(file: string): Promise<void> {
  await unlink(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== "ENOENT") throw err;
  });
}

/** Makes a directory's entries durable (so a power loss cannot lose or un-rename a file). */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } catch {
    // Some filesystems refuse fsync on a directory; the file's own syncs still hold.
  } finally {
    await handle.close();
  }
}
