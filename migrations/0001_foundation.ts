import { sql, type Kysely } from "kysely";

/**
 * Foundation schema: the tenancy tables every later migration hangs off.
 *
 * Migrations are numbered and forward-only (no `down`): a deployed schema is only ever extended
 * by a newer file, never edited in place. The `db` parameter is untyped on purpose — a migration
 * runs against the schema as it was at that point in history, not against today's `Database`.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("orgs")
    .addColumn("id", "text", (col) => col.primaryKey())
    .addColumn("name", "text", (col) => col.notNull().unique())
    .addColumn("created_at", "timestamptz", (col) => col.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable("teams")
    .addColumn("id", "text", (col) => col.primaryKey())
    .addColumn("org_id", "text", (col) => col.notNull().references("orgs.id"))
    .addColumn("name", "text", (col) => col.notNull())
    .addColumn("created_at", "timestamptz", (col) => col.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint("teams_org_id_name_key", ["org_id", "name"])
    .execute();
}
