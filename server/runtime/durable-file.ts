import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, linkSync, openSync, unlinkSync, writeSync } from "node:fs";
import { dirname } from "node:path";

/** The file-system calls {@link createFileDurably} makes (node:fs's; a test records their order). */
export interface DurableFileOps {
  openSync(path: string, flags: string, mode?: number): number;
  writeSync(fd: number, text: string): number;
  fsyncSync(fd: number): void;
  closeSync(fd: number): void;
  linkSync(existing: string, created: string): void;
  unlinkSync(path: string): void;
}

const NODE_FS: DurableFileOps = { openSync, writeSync, fsyncSync, closeSync, linkSync, unlinkSync };

/**
 * Creates `file` holding `text`, or fails with `EEXIST` when it exists, so that a crash or power
 * loss at any point leaves either no file or the whole text — never an empty or partial one. A
 * plain `writeFile(…, { flag: "wx" })` creates the name first and the data reaches the disk later
 * (ext4's delayed allocation: a zero-length file after a power cut). Here the text is written and
 * synced under a temporary name, then linked to `file` (atomic, and refused when `file` exists,
 * as `wx` is), and the folder is synced so the new name survives too.
 */
export function createFileDurably(file: string, text: string, mode: number, ops: DurableFileOps = NODE_FS): void {
  const temp = `${file}.${randomBytes(6).toString("hex")}.tmp`;
  writeSynced(temp, text, mode, ops);
  try {
    ops.linkSync(temp, file);
  } catch (err) {
    // A file system without hard links: created in place, still synced before anyone relies on it.
    if (!NO_LINKS.has((err as NodeJS.ErrnoException).code ?? "")) throw err;
    writeSynced(file, text, mode, ops);
  } finally {
    ops.unlinkSync(temp);
  }
  const dir = ops.openSync(dirname(file), "r");
  try {
    ops.fsyncSync(dir);
  } finally {
    ops.closeSync(dir);
  }
}

/** What `link` answers on a file system that has no hard links. */
const NO_LINKS = new Set(["EPERM", "ENOTSUP", "EOPNOTSUPP", "ENOSYS"]);

/** Creates `path` (`EEXIST` when it exists) holding `text`, synced to the disk. */
function writeSynced(path: string, text: string, mode: number, ops: DurableFileOps): void {
  const fd = ops.openSync(path, "wx", mode);
  try {
    ops.writeSync(fd, text);
    ops.fsyncSync(fd);
  } finally {
    ops.closeSync(fd);
  }
}
