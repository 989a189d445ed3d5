import { sql, type Kysely } from "kysely";

/**
 * A budget's counter epoch: which fast-path counters (Redis, or in-process) count its spend. They
 * were keyed by the budget's name and period label only, so a budget whose `time_zone` or `period`
 * changed, or one deleted and created again under its name on another target, landed on counters
 * already seeded for another stretch of time, kind of period or target, and was never re-seeded
 * from the ledger (P1, P7). The store now gives a budget a fresh epoch (a `limit_revisions` value)
 * when one of those changes, and its counter keys carry it, so the next call seeds new counters
 * from the ledger. Every existing budget keeps epoch 0, whose keys are exactly the old ones: a
 * rolling upgrade does not split a budget's counters between old and new replicas (only a budget
 * changed in this way during the upgrade is counted apart by the old replicas until they stop).
 * A constant default: adding the column rewrites nothing.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("budgets").addColumn("counter_epoch", "bigint", (col) => col.notNull().defaultTo(sql`0`)).execute();
}
