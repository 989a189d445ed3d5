import { sql, type Kysely } from "kysely";

/** A column a batch insert writes: its name and the Postgres type it is read as from the JSON. */
export type BatchColumn = readonly [name: string, type: string];

/**
 * `true` when `columns` names every key of `Row`, else the keys it misses: assigning `true` to it
 * fails to compile when a column is added to a row but not to its batch insert.
 */
export type EveryColumnListed<Row, Columns extends readonly BatchColumn[]> = [Exclude<keyof Row, Columns[number][0]>] extends [never] ? true : Exclude<keyof Row, Columns[number][0]>;

/** Options of {@link jsonBatchInsert}. */
export interface JsonBatchInsertOptions {
  /** Columns that travel as JSON text and are cast in the select (e.g. `{ request: "jsonb" }`). */
  castFromText?: Readonly<Record<string, string>>;
  /** Appended to the statement, e.g. `on conflict (call_id, attempt) do nothing`. */
  onConflict?: string;
}

/**
 * An insert of many rows as one constant statement with the whole batch as one JSON parameter,
 * which `jsonb_to_recordset` turns back into typed rows.
 *
 * Why: kysely compiles a multi-row `VALUES` list value by value (and Postgres parses a new
 * statement for every batch size), and one array parameter per column still has node-postgres
 * build each array literal element by element in JS; `JSON.stringify` of the rows is one native
 * pass. Row objects must have a JSON form: 64-bit integers as decimal text, dates as `Date`
 * (ISO text), JSON columns as objects — or as text with `castFromText`.
 *
 * Table and column names are fixed identifiers of ours, written into the statement once.
 */
export function jsonBatchInsert(table: string, columns: readonly BatchColumn[], opts: JsonBatchInsertOptions = {}) {
  const casts = opts.castFromText ?? {};
  const list = sql.raw(columns.map(([name]) => name).join(", "));
  const select = sql.raw(columns.map(([name]) => (casts[name] === undefined ? name : `${name}::${casts[name]}`)).join(", "));
  const definition = sql.raw(columns.map(([name, type]) => `${name} ${casts[name] === undefined ? type : "text"}`).join(", "));
  const into = sql.raw(table);
  const tail = sql.raw(opts.onConflict ?? "");
  /** Inserts `rows` (serialised with `JSON.stringify`) and resolves the number of rows written. */
  return async <DB>(db: Kysely<DB>, rows: readonly object[]): Promise<number> => {
    const result = await sql`insert into ${into} (${list}) select ${select} from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as r(${definition}) ${tail}`.execute(db);
    return Number(result.numAffectedRows ?? 0n);
  };
}
