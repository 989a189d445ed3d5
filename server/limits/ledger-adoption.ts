import { randomBytes } from "node:crypto";
import { readdir, readFile, rename, rm, stat, unlink } from "node:fs/promises";
import * as path from "node:path";
import type { Logger } from "../observability/logger.js";
import { holderAlive, readFolderLock, thisHolder, writeFolderLock } from "../runtime/folder-lock.js";
import type { UsageStore } from "../store/usage-store.js";
import { decodeLedgerSegment } from "./ledger-codec.js";
import { commitLedgerBatch } from "./ledger-commit.js";
import { LEDGER_LOCK, LEDGER_SEGMENT } from "./ledger-writer.js";

/** Dependencies of {@link adoptOrphanedLedgers}. */
export interface LedgerAdoptionDeps {
  store: Pick<UsageStore, "insertBatch" | "deadLetter">;
  /** The folder every replica's buffer folder lives in (`ledger.sharedDir`). */
  root: string;
  /** This replica's own buffer folder (inside `root`): never adopted. */
  self: string;
  logger: Logger;
  /** Rows per insert (default 1000). */
  batchRows?: number;
}

/** What one adoption pass did. */
export interface AdoptionReport {
  /** Folders whose records were all committed and which were removed. */
  adopted: number;
  /** Records committed from them (replays included: the ledger's unique key skips those). */
  records: number;
}

const CLAIMED = ".adopted-";

/**
 * One pass over the shared ledger folder: every buffer folder left by a replica that is gone is
 * claimed and its records are committed to Postgres, so a replica that dies and never comes back
 * loses nothing it acknowledged (P3, P4).
 *
 * A folder is orphaned when its lock names a process on this host that no longer exists, or when
 * it has buffer files and no lock (a replica that shut down while Postgres was unreachable).
 * Folders of live processes, and of other hosts (whose processes cannot be checked from here),
 * are left alone. Claiming is an atomic `rename` to `<name>.adopted-<random>`: of several
 * replicas adopting at once, exactly one wins each folder; the winner then re-checks the lock
 * inside (undoing the claim if its owner turns out to be alive), writes its own lock, commits
 * every readable line in batches with `on conflict do nothing` (so records the dead replica had
 * committed already are skipped: replays never double-count, P2), dead-letters unreadable lines
 * and rows Postgres refuses for their content, and removes each file once committed, then the
 * folder. If Postgres fails mid-way the pass rejects; the claimed folder keeps this replica's lock
 * and is finished by its next pass (or, if this replica dies too, adopted again by another).
 */
export async function adoptOrphanedLedgers(deps: LedgerAdoptionDeps): Promise<AdoptionReport> {
  const me = thisHolder();
  const report: AdoptionReport = { adopted: 0, records: 0 };
  const self = path.resolve(deps.self);
  let failure: unknown;
  for (const name of await readdir(deps.root)) {
    const dir = path.join(deps.root, name);
    if (path.resolve(dir) === self || !(await isDirectory(dir))) continue;
    const holder = await readFolderLock(dir, LEDGER_LOCK);
    const mine = holder !== undefined && holder.pid === me.pid && holder.host === me.host && name.includes(CLAIMED);
    let claimed = dir;
    if (!mine) {
      if (holder !== undefined ? holderAlive(holder) : !(await hasSegments(dir))) continue;
      claimed = `${dir.split(CLAIMED)[0]}${CLAIMED}${randomBytes(4).toString("hex")}`;
      try {
        await rename(dir, claimed);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") continue; // another replica won it
        throw err;
      }
      const now = await readFolderLock(claimed, LEDGER_LOCK);
      if (now !== undefined && holderAlive(now) && !(now.pid === me.pid && now.host === me.host)) {
        await rename(claimed, dir).catch(() => undefined); // its owner came back: not an orphan
        continue;
      }
      await writeFolderLock(claimed, LEDGER_LOCK, false);
    }
    try {
      report.records += await replayFolder(deps, claimed);
      report.adopted++;
    } catch (err) {
      failure ??= err;
    }
  }
  if (failure !== undefined) throw failure;
  if (report.adopted > 0) deps.logger.info(report, "adopted the ledger buffers of replicas that are gone");
  return report;
}

/** Commits every record of `dir`'s buffer files, removing each file, then the folder. */
async function replayFolder(deps: LedgerAdoptionDeps, dir: string): Promise<number> {
  const batchRows = deps.batchRows ?? 1000;
  let committed = 0;
  for (const name of (await readdir(dir)).filter((n) => LEDGER_SEGMENT.test(n)).sort()) {
    const file = path.join(dir, name);
    // Listed a moment ago: gone now means another replica moved the folder (a claim it is about
    // to undo), so this pass stops rather than go on to remove the folder with the file back in it.
    const text = await readFile(file, "utf8");
    // A torn last line was never acknowledged: dropped.
    const { records, unreadable } = decodeLedgerSegment(text);
    for (let i = 0; i < records.length; i += batchRows) await commitLedgerBatch(deps, records.slice(i, i + batchRows), "adopted ledger record refused by Postgres; dead-lettered");
    if (unreadable.length > 0) await deps.store.deadLetter(unreadable);
    await unlink(file).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "ENOENT") throw err;
    });
    committed += records.length;
  }
  await unlink(path.join(dir, LEDGER_LOCK)).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
  return committed;
}

async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

async function hasSegments(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).some((n) => LEDGER_SEGMENT.test(n));
  } catch {
    return false;
  }
}
