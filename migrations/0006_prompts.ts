import { sql, type Kysely } from "kysely";

/**
 * Prompt templates and their immutable versions.
 *
 * A template is global (`org_id` null, `prompts/{name}`) or an org's own
 * (`orgs/{org}/prompts/{name}`); it renders prompts for one verb, names its active and newest
 * version, and lists the resources (org, team, key or route resource names) whose calls use it
 * instead of the verb's built-in template.
 *
 * Versions are append-only: the store has no UPDATE path for them, and a trigger rejects any
 * UPDATE, and any DELETE that is not a cascade from its template's (or org's) deletion, so a
 * published version can never change under a request log that names it.
 *
 * Every template change takes a new `revision` from one sequence, and deletes are soft, so a row
 * never disappears before replicas have seen it: replicas poll `count(*)` and `sum(revision)`,
 * which move on every committed change whatever order concurrent writers commit in, and reload
 * the active versions when they do.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create sequence prompt_revisions`.execute(db);
  await db.schema
    .createTable("prompt_templates")
    .addColumn("id", "text", (col) => col.primaryKey())
    .addColumn("org_id", "text", (col) => col.references("orgs.id").onDelete("cascade"))
    .addColumn("name", "text", (col) => col.notNull())
    .addColumn("verb", "text", (col) => col.notNull().check(sql`verb in ('summarize', 'classify', 'extract', 'answer', 'chat')`))
    .addColumn("description", "text", (col) => col.notNull().defaultTo(""))
    .addColumn("active_version", "integer", (col) => col.notNull().check(sql`active_version >= 1`))
    .addColumn("latest_version", "integer", (col) => col.notNull().check(sql`latest_version >= 1`))
    .addColumn("attachments", "jsonb", (col) => col.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn("revision", "bigint", (col) => col.notNull().defaultTo(sql`nextval('prompt_revisions')`))
    .addColumn("created_at", "timestamptz", (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn("updated_at", "timestamptz", (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn("deleted_at", "timestamptz")
    .addCheckConstraint("prompt_templates_active_exists", sql`active_version <= latest_version`)
    .execute();
  // One live template per name and scope ('' stands for global).
  await sql`create unique index prompt_templates_scope_name on prompt_templates (coalesce(org_id, ''), name) where deleted_at is null`.execute(db);

  await db.schema
    .createTable("prompt_versions")
    .addColumn("template_id", "text", (col) => col.notNull().references("prompt_templates.id").onDelete("cascade"))
    .addColumn("version", "integer", (col) => col.notNull().check(sql`version >= 1`))
    .addColumn("messages", "jsonb", (col) => col.notNull())
    .addColumn("variables", "jsonb", (col) => col.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn("description", "text", (col) => col.notNull().defaultTo(""))
    .addColumn("creator", "text", (col) => col.notNull().defaultTo(""))
    .addColumn("created_at", "timestamptz", (col) => col.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint("prompt_versions_pkey", ["template_id", "version"])
    .execute();

  // A direct statement runs this trigger at depth 1; a foreign-key cascade runs it from inside
  // the referential trigger, at depth 2 or more.
  await sql`
    create function prompt_versions_immutable() returns trigger language plpgsql as $$
    begin
      if tg_op = 'DELETE' and pg_trigger_depth() > 1 then
        return old;
      end if;
      raise exception 'prompt versions are immutable: % of a version row is not allowed', lower(tg_op)
        using errcode = 'integrity_constraint_violation';
    end
    $$
  `.execute(db);
  await sql`
    create trigger prompt_versions_immutable before update or delete on prompt_versions
    for each row execute function prompt_versions_immutable()
  `.execute(db);
}
