import { sql, type Kysely } from "kysely";

/**
 * Routes: aliases that map to ordered, weighted provider targets. A route is global (`org_id`
 * null, `routes/{alias}`) or an org's own (`orgs/{org}/routes/{alias}`), which shadows a global
 * route of the same alias for that org.
 *
 * `spec` holds the `switchboard.v1.Route` message in protobuf JSON (without name and times), so
 * the schema stays the single definition of a route. Every change takes a new `revision` from one
 * sequence; replicas poll `max(revision)` and reload when it moves, so a change reaches every
 * replica within one poll interval without a restart. Deletes are soft for the same reason: a
 * deleted row keeps its new revision until the next reload has seen it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create sequence route_revisions`.execute(db);
  await db.schema
    .createTable("routes")
    .addColumn("id", "text", (col) => col.primaryKey())
    .addColumn("org_id", "text", (col) => col.references("orgs.id"))
    .addColumn("alias", "text", (col) => col.notNull())
    .addColumn("spec", "jsonb", (col) => col.notNull())
    .addColumn("revision", "bigint", (col) => col.notNull().defaultTo(sql`nextval('route_revisions')`))
    .addColumn("created_at", "timestamptz", (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn("updated_at", "timestamptz", (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn("deleted_at", "timestamptz")
    .execute();
  // One live route per alias and scope ('' stands for global).
  await sql`create unique index routes_scope_alias on routes (coalesce(org_id, ''), alias) where deleted_at is null`.execute(db);
  await db.schema.createIndex("routes_revision").on("routes").column("revision").execute();
}
