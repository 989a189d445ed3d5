import { readFile, unlink, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import * as path from "node:path";

/** The lock file of a ledger buffer folder. */
export const LEDGER_LOCK = "ledger.lock";

/** Who holds a ledger buffer folder: a process on a host. */
export interface LedgerLockHolder {
  pid: number;
  /** `os.hostname()` of the holder; a lock written before hosts were recorded counts as this host. */
  host: string;
}

/** This process, as a lock holder. */
export function thisHolder(): LedgerLockHolder {
  return { pid: process.pid, host: hostname() };
}

/** The holder named by `dir`'s lock file `name`; undefined when there is none (or it is unreadable). */
export async function readLedgerLock(dir: string, name = LEDGER_LOCK): Promise<LedgerLockHolder | undefined> {
  let text: string;
  try {
    text = (await readFile(path.join(dir, name), "utf8")).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  if (/^\d+$/.test(text)) return { pid: Number(text), host: hostname() }; // the old format: a bare pid
  try {
    const parsed = JSON.parse(text) as Partial<LedgerLockHolder>;
    if (typeof parsed.pid === "number" && typeof parsed.host === "string") return { pid: parsed.pid, host: parsed.host };
  } catch {
    // unreadable: treated as no holder below
  }
  return undefined;
}

/** Writes this process into `dir`'s lock file `name`; `exclusive` fails with EEXIST when there is one. */
export async function writeLedgerLock(dir: string, exclusive: boolean, name = LEDGER_LOCK): Promise<void> {
  await writeFile(path.join(dir, name), JSON.stringify(thisHolder()), exclusive ? { flag: "wx" } : {});
}

/**
 * Claims `dir` for this process through its lock file `name`: refused with `inUse(holder)` while
 * another live process holds it; a lock left by a process that is gone (a crash) is taken over.
 * The ledger buffer's folder and the embedded database's folder are each one process's.
 */
export async function claimFolder(dir: string, name: string, inUse: (holder: LedgerLockHolder) => Error): Promise<void> {
  try {
    await writeLedgerLock(dir, true, name);
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  const holder = await readLedgerLock(dir, name);
  if (holder !== undefined && holder.pid > 0 && holder.pid !== process.pid && holderAlive(holder)) throw inUse(holder);
  await writeLedgerLock(dir, false, name);
}

/** Gives up `dir`'s lock file `name` if this process holds it (at close). */
export async function releaseFolder(dir: string, name: string): Promise<void> {
  if ((await readLedgerLock(dir, name))?.pid === process.pid) await unlink(path.join(dir, name)).catch(() => undefined);
}

/**
 * Whether `holder` may still be writing: always true for another host (its processes cannot be
 * seen from here), else whether the process exists. A reused pid errs on the safe side (alive).
 */
export function holderAlive(holder: LedgerLockHolder): boolean {
  if (holder.host !== hostname()) return true;
  if (holder.pid === process.pid) return true;
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
