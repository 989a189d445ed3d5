import { sql, type Kysely } from "kysely";

/**
 * Guardrail policies: named sets of rules (PII, deny lists, regexes, injection heuristics,
 * external checks) with an action each, attached to orgs, teams, keys or routes.
 *
 * A policy is global (`org_id` null, `guardrail-policies/{id}`) or an org's own
 * (`orgs/{org}/guardrail-policies/{id}`). `spec` holds the `switchboard.v1.GuardrailPolicy`
 * message in protobuf JSON (without name and times), so the schema stays the single definition
 * of a rule. `attachments` holds each attachment twice: the resource name the API shows and the
 * internal id it resolved to when written (`{name, kind, id, alias?}`), so the request path
 * matches policies by the ids the caller's key carries without a lookup.
 *
 * Every change takes a new `revision` from one sequence and deletes are soft, so replicas polling
 * `count(*)` and `sum(revision)` see every committed change — whatever order concurrent writers
 * commit in — and reload.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create sequence guardrail_policy_revisions`.execute(db);
  await db.schema
    .createTable("guardrail_policies")
    .addColumn("id", "text", (col) => col.primaryKey())
    .addColumn("org_id", "text", (col) => col.references("orgs.id").onDelete("cascade"))
    .addColumn("policy_id", "text", (col) => col.notNull())
    .addColumn("spec", "jsonb", (col) => col.notNull())
    .addColumn("attachments", "jsonb", (col) => col.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn("enabled", "boolean", (col) => col.notNull().defaultTo(false))
    .addColumn("revision", "bigint", (col) => col.notNull().defaultTo(sql`nextval('guardrail_policy_revisions')`))
    .addColumn("created_at", "timestamptz", (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn("updated_at", "timestamptz", (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn("deleted_at", "timestamptz")
    .execute();
  // One live policy per id and scope ('' stands for global).
  await sql`create unique index guardrail_policies_scope_id on guardrail_policies (coalesce(org_id, ''), policy_id) where deleted_at is null`.execute(db);
}
