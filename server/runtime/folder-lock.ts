import { readFile, unlink, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import * as path from "node:path";

/**
 * A folder one process works in — the usage ledger's buffer, the embedded database — claimed
 * through a lock file in it that names the process and its host.
 */

/** Who holds a folder: a process on a host. */
export interface FolderLockHolder {
  pid: number;
  /** `os.hostname()` of the holder; a lock written before hosts were recorded counts as this host. */
  host: string;
}

/** This process, as a lock holder. */
export function thisHolder(): FolderLockHolder {
  return { pid: process.pid, host: hostname() };
}

/** The holder named by `dir`'s lock file `name`; undefined when there is none (or it is unreadable). */
export async function readFolderLock(dir: string, name: string): Promise<FolderLockHolder | undefined> {
  let text: string;
  try {
    text = (await readFile(path.join(dir, name), "utf8")).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  if (/^\d+$/.test(text)) return { pid: Number(text), host: hostname() }; // the old format: a bare pid
  try {
    const parsed = JSON.parse(text) as Partial<FolderLockHolder>;
    if (typeof parsed.pid === "number" && typeof parsed.host === "string") return { pid: parsed.pid, host: parsed.host };
  } catch {
    // unreadable: treated as no holder below
  }
  return undefined;
}

/** Writes this process into `dir`'s lock file `name`; `exclusive` fails with EEXIST when there is one. */
export async function writeFolderLock(dir: string, name: string, exclusive: boolean): Promise<void> {
  await writeFile(path.join(dir, name), JSON.stringify(thisHolder()), exclusive ? { flag: "wx" } : {});
}

/**
 * Claims `dir` for this process through its lock file `name`: refused with `inUse(holder)` while
 * another live process holds it; a lock left by a process that is gone (a crash) is taken over.
 */
export async function claimFolder(dir: string, name: string, inUse: (holder: FolderLockHolder) => Error): Promise<void> {
  try {
    await writeFolderLock(dir, name, true);
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  const holder = await readFolderLock(dir, name);
  if (holder !== undefined && holder.pid > 0 && holder.pid !== process.pid && holderAlive(holder)) throw inUse(holder);
  await writeFolderLock(dir, name, false);
}

/** Gives up `dir`'s lock file `name` if this process holds it (at close). */
export async function releaseFolder(dir: string, name: string): Promise<void> {
  if ((await readFolderLock(dir, name))?.pid === process.pid) await unlink(path.join(dir, name)).catch(() => undefined);
}

/**
 * Whether `holder` may still be writing: always true for another host (its processes cannot be
 * seen from here), else whether the process exists. A reused pid errs on the safe side (alive).
 */
export function holderAlive(holder: FolderLockHolder): boolean {
  if (holder.host !== hostname()) return true;
  if (holder.pid === process.pid) return true;
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
