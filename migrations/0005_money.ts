import { sql, type Kysely } from "kysely";

/**
 * Money: the usage ledger (the authority for spend), its dead letters, budget and rate-limit
 * definitions, and the stored results of idempotent verb calls.
 *
 * `usage_records` holds one row per provider attempt (attempt ≥ 1) or cache hit (attempt 0) of
 * one model call. The unique key is `(call_id, attempt)`: `call_id` is made by the gateway for
 * each model call, so a verb that makes several calls in one RPC (Summarize map-reduce, an
 * Extract repair), or a caller who reuses an `x-request-id`, never collides — and a replayed
 * write of the same record is a no-op (`on conflict do nothing`): the ledger never double-counts
 * and never drops a row to resolve a collision. `request_id` is the RPC's id, for grouping.
 * Amounts are integer micro-USD (`bigint`). No foreign keys: the ledger is history and outlives
 * the keys and teams it names.
 *
 * Budgets and rate limits share one revision sequence, like routes: every write takes a new
 * revision and deletes are soft, so replicas poll `max(revision)` and reload on a change.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("usage_records")
    .addColumn("call_id", "text", (col) => col.notNull())
    .addColumn("attempt", "integer", (col) => col.notNull().check(sql`attempt >= 0`))
    .addColumn("request_id", "text", (col) => col.notNull())
    .addColumn("org_id", "text", (col) => col.notNull())
    .addColumn("team_id", "text", (col) => col.notNull())
    .addColumn("key_id", "text", (col) => col.notNull())
    .addColumn("route", "text", (col) => col.notNull())
    .addColumn("provider", "text", (col) => col.notNull())
    .addColumn("model", "text", (col) => col.notNull())
    .addColumn("verb", "text", (col) => col.notNull())
    .addColumn("outcome", "text", (col) => col.notNull())
    .addColumn("input_tokens", "bigint", (col) => col.notNull().check(sql`input_tokens >= 0`))
    .addColumn("output_tokens", "bigint", (col) => col.notNull().check(sql`output_tokens >= 0`))
    .addColumn("cached_input_tokens", "bigint", (col) => col.notNull().check(sql`cached_input_tokens >= 0`))
    .addColumn("cache_write_input_tokens", "bigint", (col) => col.notNull().check(sql`cache_write_input_tokens >= 0`))
    .addColumn("reasoning_tokens", "bigint", (col) => col.notNull().check(sql`reasoning_tokens >= 0`))
    .addColumn("cost_micros_usd", "bigint", (col) => col.notNull().check(sql`cost_micros_usd >= 0`))
    .addColumn("price_version", "text", (col) => col.notNull())
    .addColumn("estimated", "boolean", (col) => col.notNull())
    .addColumn("cache_status", "text", (col) => col.notNull())
    .addColumn("tags", "jsonb", (col) => col.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn("template_name", "text")
    .addColumn("template_version", "integer")
    .addColumn("occurred_at", "timestamptz", (col) => col.notNull())
    .addColumn("recorded_at", "timestamptz", (col) => col.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint("usage_records_pkey", ["call_id", "attempt"])
    .execute();
  // Reports and budget status read one org over a time range; platform reports all orgs.
  await db.schema.createIndex("usage_records_org_time").on("usage_records").columns(["org_id", "occurred_at"]).execute();
  await db.schema.createIndex("usage_records_time").on("usage_records").column("occurred_at").execute();
  await db.schema.createIndex("usage_records_request").on("usage_records").column("request_id").execute();

  // Records Postgres refused for their content (never for an outage): kept, counted, alerted on.
  await db.schema
    .createTable("usage_dead_letters")
    .addColumn("id", "bigserial", (col) => col.primaryKey())
    .addColumn("record", "text", (col) => col.notNull())
    .addColumn("error", "text", (col) => col.notNull())
    .addColumn("created_at", "timestamptz", (col) => col.notNull().defaultTo(sql`now()`))
    .execute();

  await sql`create sequence limit_revisions`.execute(db);
  const common = (table: string) =>
    db.schema
      .createTable(table)
      .addColumn("id", "text", (col) => col.primaryKey())
      .addColumn("org_id", "text", (col) => col.notNull().references("orgs.id"))
      .addColumn("name", "text", (col) => col.notNull())
      .addColumn("target", "text", (col) => col.notNull())
      .addColumn("level", "text", (col) => col.notNull().check(sql`level in ('org', 'team', 'key', 'tag')`))
      // The internal id of the org, team or key capped, or `key=value` for a tag.
      .addColumn("target_id", "text", (col) => col.notNull());
  await common("budgets")
    .addColumn("limit_micros_usd", "bigint", (col) => col.notNull().check(sql`limit_micros_usd > 0`))
    .addColumn("period", "text", (col) => col.notNull().check(sql`period in ('daily', 'weekly', 'monthly', 'total')`))
    .addColumn("time_zone", "text", (col) => col.notNull().defaultTo("UTC"))
    .addColumn("alert_thresholds_percent", "jsonb", (col) => col.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn("alert_webhook_url", "text", (col) => col.notNull().defaultTo(""))
    .addColumn("revision", "bigint", (col) => col.notNull().defaultTo(sql`nextval('limit_revisions')`))
    .addColumn("created_at", "timestamptz", (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn("updated_at", "timestamptz", (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn("deleted_at", "timestamptz")
    .execute();
  await common("rate_limits")
    .addColumn("requests_per_minute", "bigint", (col) => col.notNull().check(sql`requests_per_minute >= 0`))
    .addColumn("tokens_per_minute", "bigint", (col) => col.notNull().check(sql`tokens_per_minute >= 0`))
    .addColumn("revision", "bigint", (col) => col.notNull().defaultTo(sql`nextval('limit_revisions')`))
    .addColumn("created_at", "timestamptz", (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn("updated_at", "timestamptz", (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn("deleted_at", "timestamptz")
    .execute();
  for (const table of ["budgets", "rate_limits"]) {
    await sql`create unique index ${sql.raw(`${table}_org_name`)} on ${sql.table(table)} (org_id, name) where deleted_at is null`.execute(db);
    await db.schema.createIndex(`${table}_revision`).on(table).column("revision").execute();
  }

  // Idempotent verb calls: the first result per (org, idempotency key), kept 24 h.
  await db.schema
    .createTable("verb_idempotency")
    .addColumn("org_id", "text", (col) => col.notNull())
    .addColumn("idempotency_key", "text", (col) => col.notNull())
    .addColumn("method", "text", (col) => col.notNull())
    .addColumn("fingerprint", "text", (col) => col.notNull())
    .addColumn("state", "text", (col) => col.notNull().check(sql`state in ('in_flight', 'done')`))
    .addColumn("response", "bytea")
    .addColumn("lease_expires_at", "timestamptz", (col) => col.notNull())
    .addColumn("created_at", "timestamptz", (col) => col.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint("verb_idempotency_pkey", ["org_id", "idempotency_key"])
    .execute();
  await db.schema.createIndex("verb_idempotency_created").on("verb_idempotency").column("created_at").execute();
}
