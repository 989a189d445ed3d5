import { sql, type Kysely, type RawBuilder } from "kysely";
import type { Database, RevisionCatalog } from "./schema.js";

/**
 * How many rows of `catalog` were ever removed (migration 0014), for a change marker's query: read
 * in the same statement as the count and sum, so from the same snapshot.
 */
export function removedRows(catalog: RevisionCatalog): RawBuilder<string> {
  return sql<string>`coalesce((select rows from revision_removals where catalog = ${catalog}), 0)::text`;
}

/** Counts `rows` removed from `catalog` for good, in the transaction that removes them. */
export async function countRemoval(tx: Kysely<Database>, catalog: RevisionCatalog, rows: bigint): Promise<void> {
  if (rows === 0n) return;
  await tx
    .updateTable("revision_removals")
    .set({ rows: sql<bigint>`rows + ${rows}` })
    .where("catalog", "=", catalog)
    .execute();
}
