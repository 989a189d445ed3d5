import type { Kysely, Transaction } from "kysely";
import type { Database } from "./schema.js";

/** One row as a write found it and as that write left it. */
export interface Change<T> {
  /** Exactly the row the write replaced: read with the row locked, in the write's transaction. */
  before: T;
  /** The row the write made, read in the same transaction (before anyone else could change it). */
  after: T;
}

/**
 * Runs a write of one row in a transaction that first reads the row with it locked (`lock`: a
 * SELECT … FOR UPDATE; undefined when there is no such row, and then `write` does not run) and
 * keeps it locked to the commit. What `lock` returns is then exactly what `write` replaces: a
 * concurrent writer of the row either committed before the read (and is seen) or waits for this
 * commit (and sees this write). A read outside the write's transaction, or in it without the lock,
 * is not: another write can land in between, and the audit log's `before` would show a state this
 * write never replaced (two updates both recording the state before either; a delete recording a
 * row someone else had already changed). `write` gets the row and returns what the write made —
 * the row after it, read in `tx`, or a refusal. Runs in `q` when it is already a transaction.
 */
export async function lockedChange<T, R>(
  q: Kysely<Database> | Transaction<Database>,
  lock: (tx: Transaction<Database>) => Promise<T | undefined>,
  write: (tx: Transaction<Database>, before: T) => Promise<R>,
): Promise<{ before: T; made: R } | undefined> {
  const run = async (tx: Transaction<Database>) => {
    const before = await lock(tx);
    return before === undefined ? undefined : { before, made: await write(tx, before) };
  };
  return q.isTransaction ? run(q as Transaction<Database>) : q.transaction().execute(run);
}
