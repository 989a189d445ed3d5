import { sql, type Kysely } from "kysely";

/** Resolves when the database answers a trivial query (readiness); rejects with its error otherwise. */
export async function pingDatabase<DB>(db: Kysely<DB>): Promise<void> {
  await sql`select 1`.execute(db);
}
