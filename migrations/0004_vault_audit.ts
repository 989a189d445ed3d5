import { sql, type Kysely } from "kysely";

/**
 * The credential vault and the audit log.
 *
 * `credentials` holds provider API keys under envelope encryption: the value is AES-256-GCM
 * ciphertext under a per-credential data key, and the data key is stored only wrapped by a master
 * key from the environment (`master_key_id` names which). Both encryptions bind the row (its id,
 * org, resource name and value version) as additional authenticated data, so ciphertext copied
 * to another row does not decrypt. No column ever holds a value or a data key in the clear: the
 * checks pin the nonces to 96 bits and the wrapped key to 32 bytes plus the 16-byte tag.
 *
 * `audit_events` is append-only and hash-chained. Triggers reject UPDATE, DELETE and TRUNCATE
 * (a superuser can still disable them: the hash chain and an external checkpoint of the head hash
 * are what detect that). `audit_chain_head` is the one row every append locks and advances: the
 * link trigger refuses an insert that does not extend it by exactly one (sequence + 1, previous
 * hash = head hash), so replicas appending at once can only produce one linear, gap-free chain,
 * and a truncated tail still disagrees with the head. `org_id` and `actor_org_id` are plain ids,
 * not foreign keys: events outlive the orgs they mention.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("credentials")
    .addColumn("id", "text", (col) => col.primaryKey())
    .addColumn("org_id", "text", (col) => col.references("orgs.id").onDelete("cascade"))
    .addColumn("name", "text", (col) => col.notNull())
    .addColumn("provider", "text", (col) => col.notNull())
    .addColumn("display_name", "text", (col) => col.notNull().defaultTo(""))
    .addColumn("settings", "jsonb", (col) => col.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn("fingerprint", "text", (col) => col.notNull())
    .addColumn("last_four", "text", (col) => col.notNull().defaultTo(""))
    .addColumn("version", "integer", (col) => col.notNull().defaultTo(1).check(sql`version >= 1`))
    .addColumn("master_key_id", "text", (col) => col.notNull())
    .addColumn("wrapped_key", "bytea", (col) => col.notNull().check(sql`octet_length(wrapped_key) = 48`))
    .addColumn("key_nonce", "bytea", (col) => col.notNull().check(sql`octet_length(key_nonce) = 12`))
    .addColumn("ciphertext", "bytea", (col) => col.notNull().check(sql`octet_length(ciphertext) > 16`))
    .addColumn("value_nonce", "bytea", (col) => col.notNull().check(sql`octet_length(value_nonce) = 12`))
    .addColumn("created_at", "timestamptz", (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn("updated_at", "timestamptz", (col) => col.notNull().defaultTo(sql`now()`))
    .execute();
  // One credential per name and scope ('' stands for global).
  await sql`create unique index credentials_scope_name on credentials (coalesce(org_id, ''), name)`.execute(db);
  await db.schema.createIndex("credentials_master_key_id").on("credentials").column("master_key_id").execute();

  await db.schema
    .createTable("audit_events")
    .addColumn("sequence", "bigint", (col) => col.primaryKey().check(sql`sequence >= 1`))
    .addColumn("time", "timestamptz", (col) => col.notNull())
    .addColumn("actor", "text", (col) => col.notNull().defaultTo(""))
    .addColumn("actor_org", "text", (col) => col.notNull().defaultTo(""))
    .addColumn("actor_org_id", "text")
    .addColumn("org_id", "text")
    .addColumn("action", "text", (col) => col.notNull())
    .addColumn("resource", "text", (col) => col.notNull().defaultTo(""))
    .addColumn("before", "jsonb")
    .addColumn("after", "jsonb")
    .addColumn("outcome", "text", (col) => col.notNull().check(sql`outcome in ('success', 'denied', 'failure')`))
    .addColumn("code", "text", (col) => col.notNull().defaultTo(""))
    .addColumn("peer", "text", (col) => col.notNull().defaultTo(""))
    .addColumn("request_id", "text", (col) => col.notNull().defaultTo(""))
    .addColumn("replica", "text", (col) => col.notNull().defaultTo(""))
    .addColumn("previous_hash", "text", (col) => col.notNull().check(sql`previous_hash ~ '^[0-9a-f]{64}$'`))
    .addColumn("hash", "text", (col) => col.notNull().check(sql`hash ~ '^[0-9a-f]{64}$'`))
    .execute();
  await db.schema.createIndex("audit_events_org_id").on("audit_events").columns(["org_id", "sequence"]).execute();
  await db.schema.createIndex("audit_events_actor_org_id").on("audit_events").columns(["actor_org_id", "sequence"]).execute();

  await db.schema
    .createTable("audit_chain_head")
    .addColumn("id", "integer", (col) => col.primaryKey().check(sql`id = 1`))
    .addColumn("sequence", "bigint", (col) => col.notNull())
    .addColumn("hash", "text", (col) => col.notNull())
    .execute();
  await sql`insert into audit_chain_head (id, sequence, hash) values (1, 0, ${"0".repeat(64)})`.execute(db);

  await sql`
    create function audit_append_only() returns trigger language plpgsql as $$
    begin
      raise exception 'the audit log is append-only: % on % is not allowed', lower(tg_op), tg_table_name
        using errcode = 'insufficient_privilege';
    end
    $$
  `.execute(db);
  await sql`
    create trigger audit_events_append_only before update or delete on audit_events
    for each row execute function audit_append_only()
  `.execute(db);
  await sql`
    create trigger audit_events_no_truncate before truncate on audit_events
    for each statement execute function audit_append_only()
  `.execute(db);
  await sql`
    create trigger audit_chain_head_no_delete before delete on audit_chain_head
    for each row execute function audit_append_only()
  `.execute(db);
  await sql`
    create trigger audit_chain_head_no_truncate before truncate on audit_chain_head
    for each statement execute function audit_append_only()
  `.execute(db);

  // Every insert must extend the head by exactly one link; the head moves in the same statement.
  await sql`
    create function audit_events_link() returns trigger language plpgsql as $$
    declare
      head record;
    begin
      select sequence, hash into head from audit_chain_head where id = 1 for update;
      if new.sequence <> head.sequence + 1 or new.previous_hash <> head.hash then
        raise exception 'audit event % does not extend the chain head %', new.sequence, head.sequence
          using errcode = 'integrity_constraint_violation';
      end if;
      update audit_chain_head set sequence = new.sequence, hash = new.hash where id = 1;
      return new;
    end
    $$
  `.execute(db);
  await sql`
    create trigger audit_events_link before insert on audit_events
    for each row execute function audit_events_link()
  `.execute(db);
  // The head only ever advances one link at a time (the link trigger is its only writer).
  await sql`
    create function audit_chain_head_advance() returns trigger language plpgsql as $$
    begin
      if new.sequence <> old.sequence + 1 or new.id <> old.id then
        raise exception 'the audit chain head only advances one event at a time'
          using errcode = 'insufficient_privilege';
      end if;
      return new;
    end
    $$
  `.execute(db);
  await sql`
    create trigger audit_chain_head_advance before update on audit_chain_head
    for each row execute function audit_chain_head_advance()
  `.execute(db);
}
