import { sql, type Kysely } from "kysely";

/**
 * Dead letters kept once. A ledger batch Postgres refuses is retried row by row, each refused row
 * dead-lettered as it is met; when Postgres drops later in that retry (or the process dies before
 * the batch's buffer file is removed), the whole batch is retried and its refused rows were
 * dead-lettered again — inflating the count operators are alerted on, and replayed twice by an
 * operator replaying dead letters. Like `usage_records` with its `(call_id, attempt)` key, a dead
 * letter now has a unique key and is written with `on conflict do nothing`: the SHA-256 of its
 * record (the ledger writer writes a refused record in one canonical form, and an unreadable
 * buffer line as its bytes, so a retry or replay gives the same text). A digest rather than the
 * text itself: a record can outgrow a B-tree entry (≈ 2.7 kB). Not a generated column: Postgres
 * does not count `convert_to` as immutable; the store computes the digest with this expression.
 *
 * Rows written twice before this migration are duplicates of exactly this kind: the first of each
 * (lowest id: the earliest error and time) is kept and the later copies are deleted, so the unique
 * index can be built (one cannot be `NOT VALID`, and a partial one would leave the inflated count
 * in place for good). Copies that differ in text (the same record written before and after a
 * restart, in two field orders) are both kept: told apart only by parsing, they stay as written.
 * The table holds refused records only, so the rewrite and lock are brief.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table usage_dead_letters add column record_sha256 bytea`.execute(db);
  await sql`update usage_dead_letters set record_sha256 = sha256(convert_to(record, 'UTF8'))`.execute(db);
  await sql`delete from usage_dead_letters later using usage_dead_letters first
    where first.record_sha256 = later.record_sha256 and first.id < later.id`.execute(db);
  await sql`alter table usage_dead_letters alter column record_sha256 set not null`.execute(db);
  await sql`create unique index usage_dead_letters_record on usage_dead_letters (record_sha256)`.execute(db);
}
