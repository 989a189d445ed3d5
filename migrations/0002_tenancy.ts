import { sql, type Kysely } from "kysely";

/**
 * Tenancy: human-facing fields on orgs and teams, virtual keys, and idempotency records.
 *
 * Forward-only, like every migration: 0001's tables are extended here, never edited there.
 * Identity: `id` columns hold opaque internal ids (`org_…`, `team_…`, `key_…`); `name` holds the
 * resource-name segment a caller chose (`orgs/{name}/teams/{name}/keys/{name}`), unique in its
 * parent. Re-creating a deleted name therefore yields a new identity, so history keyed by id
 * (usage, audit) never merges two different tenants.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  for (const table of ["orgs", "teams"]) {
    await db.schema
      .alterTable(table)
      .addColumn("display_name", "text", (col) => col.notNull().defaultTo(""))
      .addColumn("labels", "jsonb", (col) => col.notNull().defaultTo(sql`'{}'::jsonb`))
      .addColumn("updated_at", "timestamptz", (col) => col.notNull().defaultTo(sql`now()`))
      .execute();
  }
  // Lets `keys` reference (team, org) together, so a key's org always is its team's org.
  await db.schema.alterTable("teams").addUniqueConstraint("teams_id_org_id_key", ["id", "org_id"]).execute();

  // Only HMAC-SHA-256 hex digests of secrets are stored; the checks make storing anything else
  // (a raw secret by mistake) fail loudly instead of silently.
  await db.schema
    .createTable("keys")
    .addColumn("id", "text", (col) => col.primaryKey())
    .addColumn("org_id", "text", (col) => col.notNull().references("orgs.id"))
    .addColumn("team_id", "text", (col) => col.notNull())
    .addColumn("name", "text", (col) => col.notNull())
    .addColumn("display_name", "text", (col) => col.notNull().defaultTo(""))
    .addColumn("display_prefix", "text", (col) => col.notNull())
    .addColumn("secret_hmac", "text", (col) => col.notNull().unique().check(sql`secret_hmac ~ '^[0-9a-f]{64}$'`))
    .addColumn("previous_secret_hmac", "text", (col) =>
      col.unique().check(sql`previous_secret_hmac ~ '^[0-9a-f]{64}$'`),
    )
    .addColumn("previous_secret_expires_at", "timestamptz")
    .addColumn("scopes", "jsonb", (col) => col.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn("allowed_routes", "jsonb", (col) => col.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn("allowed_models", "jsonb", (col) => col.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn("tags", "jsonb", (col) => col.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn("expires_at", "timestamptz")
    .addColumn("state", "text", (col) => col.notNull().defaultTo("active").check(sql`state in ('active', 'revoked')`))
    .addColumn("created_at", "timestamptz", (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn("updated_at", "timestamptz", (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn("revoked_at", "timestamptz")
    .addColumn("last_used_at", "timestamptz")
    .addForeignKeyConstraint("keys_team_fkey", ["team_id", "org_id"], "teams", ["id", "org_id"])
    .addUniqueConstraint("keys_team_id_name_key", ["team_id", "name"])
    .addCheckConstraint(
      "keys_previous_secret_pair",
      sql`(previous_secret_hmac is null) = (previous_secret_expires_at is null)`,
    )
    .execute();
  await db.schema.createIndex("keys_org_id_id_idx").on("keys").columns(["org_id", "id"]).execute();

  // One row per (caller org, operation, request_id): a retried create finds the resource it made.
  await db.schema
    .createTable("idempotency_records")
    .addColumn("scope", "text", (col) => col.notNull())
    .addColumn("operation", "text", (col) => col.notNull())
    .addColumn("request_id", "text", (col) => col.notNull())
    .addColumn("fingerprint", "text", (col) => col.notNull())
    .addColumn("resource_id", "text", (col) => col.notNull().defaultTo(""))
    .addColumn("created_at", "timestamptz", (col) => col.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint("idempotency_records_pkey", ["scope", "operation", "request_id"])
    .execute();
}
