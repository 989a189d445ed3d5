import { sql, type Kysely } from "kysely";

/**
 * Rows the polled catalogs (routes, limits, prompt templates, guardrail policies) lost for good.
 * Replicas poll each catalog's `count(*)` and `sum(revision)`; every write takes a new revision
 * and deletes are soft, so both only grow — except when DeleteOrg removes rows (the org's
 * soft-deleted routes and limits, and its own templates and policies). Then the count and the sum
 * drop, and together with a write that took its revision before a poll and committed after it
 * (adding less than a fresh revision would) they can land where the poll left them: that replica
 * never loads the write. Each catalog's marker therefore also reads how many of its rows were ever
 * removed, counted here in the transaction that removes them; with it the marker moves at every
 * committed change, in whatever order writers commit.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("revision_removals")
    .addColumn("catalog", "text", (col) => col.primaryKey())
    .addColumn("rows", "bigint", (col) => col.notNull().defaultTo(sql`0`))
    .execute();
  await sql`insert into revision_removals (catalog) values ('routes'), ('limits'), ('prompt_templates'), ('guardrail_policies')`.execute(db);
}
