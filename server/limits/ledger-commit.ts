import type { Logger } from "../observability/logger.js";
import { isRowRejection } from "../store/row-rejection.js";
import type { UsageRecordRow, UsageStore } from "../store/usage-store.js";
import { deadLetterRecord } from "./ledger-codec.js";

/** What {@link commitLedgerBatch} writes to and logs with. */
export interface LedgerCommitDeps {
  store: Pick<UsageStore, "insertBatch" | "deadLetter">;
  logger: Logger;
}

/**
 * Commits one batch of ledger rows. A batch Postgres refuses for its content is retried row by
 * row, and each row it still refuses is dead-lettered (logged with `refusedMessage`), so one bad
 * row never holds the others back. Should Postgres drop midway, the batch is retried whole and
 * its refused rows are dead-lettered again: the store keeps each record once. Any other failure (Postgres unreachable) rejects: the caller
 * keeps the batch and retries it. The ledger writer and the adoption of a dead replica's buffer
 * both commit through here.
 */
export async function commitLedgerBatch(deps: LedgerCommitDeps, batch: readonly UsageRecordRow[], refusedMessage: string): Promise<void> {
  try {
    await deps.store.insertBatch(batch);
    return;
  } catch (err) {
    if (!isRowRejection(err)) throw err;
  }
  for (const row of batch) {
    try {
      await deps.store.insertBatch([row]);
    } catch (err) {
      if (!isRowRejection(err)) throw err;
      const error = err instanceof Error ? err.message : String(err);
      deps.logger.error({ callId: row.callId, attempt: row.attempt, error }, refusedMessage);
      await deps.store.deadLetter([{ record: deadLetterRecord(row), error }]);
    }
  }
}
