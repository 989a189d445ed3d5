import type { Kysely } from "kysely";

/**
 * The owner of an in-flight idempotent verb call: a random token per claim. A claim whose lease
 * ran out is taken over with a new token, so the first call — still running, only slow — can no
 * longer store its result over the new owner's claim or delete it: completing and releasing match
 * the token. Rows claimed before this column existed have none and are matched by no token; their
 * lease runs out as before.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("verb_idempotency").addColumn("owner", "text").execute();
}
