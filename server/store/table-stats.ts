import { sql, type Kysely } from "kysely";
import type { Database } from "./schema.js";

/** One table's size and tuple counts, as Postgres' statistics collector has them. */
export interface TableStats {
  name: string;
  /** The table with its indexes and TOAST (`pg_total_relation_size`). */
  bytes: number;
  liveTuples: number;
  /** Dead row versions not yet vacuumed: what an update or delete leaves behind. */
  deadTuples: number;
  /** Rows inserted, updated and deleted since the statistics were reset. */
  inserted: number;
  updated: number;
  deleted: number;
}

/**
 * Size and churn of every table of the current schema (`pg_stat_user_tables`): what a soak
 * samples to tell bounded growth and bloat (RELIABILITY P24) from a table that keeps growing.
 * The tuple counts are the collector's, flushed by each backend about once a second.
 */
export async function readTableStats(db: Kysely<Database>): Promise<TableStats[]> {
  const { rows } = await sql<{ name: string; bytes: string | number; live: string | number; dead: string | number; ins: string | number; upd: string | number; del: string | number }>`
    select relname as name, pg_total_relation_size(relid) as bytes, n_live_tup as live, n_dead_tup as dead,
           n_tup_ins as ins, n_tup_upd as upd, n_tup_del as del
      from pg_stat_user_tables
     where schemaname = current_schema()
     order by relname`.execute(db);
  return rows.map((r) => ({
    name: r.name,
    bytes: Number(r.bytes),
    liveTuples: Number(r.live),
    deadTuples: Number(r.dead),
    inserted: Number(r.ins),
    updated: Number(r.upd),
    deleted: Number(r.del),
  }));
}
