import { sql, type Kysely, type RawBuilder } from "kysely";

/** A column a batch insert writes: its name and its Postgres type. */
export type BatchColumn = readonly [name: string, type: string];

/**
 * `true` when `columns` names every key of `Row`, else the keys it misses: assigning `true` to it
 * fails to compile when a column is added to a row but not to its batch insert.
 */
export type EveryColumnListed<Row, Columns extends readonly BatchColumn[]> = [Exclude<keyof Row, Columns[number][0]>] extends [never] ? true : Exclude<keyof Row, Columns[number][0]>;

/** Options of {@link arrayBatchInsert}. */
export interface BatchInsertOptions {
  /** Columns that travel as JSON text and are cast in the select (e.g. `{ request: "jsonb" }`). */
  castFromText?: Readonly<Record<string, string>>;
  /** Appended to the statement, e.g. `on conflict (call_id, attempt) do nothing`. */
  onConflict?: string;
}

/**
 * An insert of many rows as one constant statement with one array parameter per column, which
 * `unnest` zips back into typed rows: `insert into t (a, b) select a, b from unnest($1::text[],
 * $2::bigint[]) as r(a, b)`.
 *
 * Why this form: kysely compiles a multi-row `VALUES` list value by value (and Postgres parses a
 * new statement for every batch size). One JSON parameter read by `jsonb_to_recordset` (the form
 * before this one) costs the gateway the same to encode but Postgres twice as much to read: per
 * usage row 15–17 µs of the server backend's CPU against 8–9.5, per request-log row 10 against 4–5,
 * and on PGlite, where Postgres runs in this process on its baseline WebAssembly tier, 39–46 µs
 * against 28–31 (bench/README.md, "Fifteenth pass": the two forms alternated in one process). The literals are
 * written here ({@link arrayLiteral}), not by the driver.
 *
 * Row objects hold each column's value under its name: text as strings, 64-bit integers as
 * `bigint` or decimal text, dates as `Date`, JSON columns as objects — or as JSON text with
 * `castFromText`. Table and column names are fixed identifiers of ours, written into the
 * statement once.
 */
export function arrayBatchInsert(table: string, columns: readonly BatchColumn[], opts: BatchInsertOptions = {}) {
  const casts = opts.castFromText ?? {};
  const names = columns.map(([name]) => name);
  const list = sql.raw(names.join(", "));
  const select = sql.raw(columns.map(([name]) => (casts[name] === undefined ? name : `${name}::${casts[name]}`)).join(", "));
  const into = sql.raw(table);
  const tail = sql.raw(opts.onConflict ?? "");
  const arrayTypes = columns.map(([name, type]) => sql.raw(`::${casts[name] === undefined ? type : "text"}[]`));
  /** Inserts `rows` and resolves the number of rows written. */
  return async <DB>(db: Kysely<DB>, rows: readonly object[]): Promise<number> => {
    const params: RawBuilder<unknown>[] = new Array(columns.length);
    for (let c = 0; c < columns.length; c++) params[c] = sql`${arrayLiteral(rows, names[c]!)}${arrayTypes[c]}`;
    const result = await sql`insert into ${into} (${list}) select ${select} from unnest(${sql.join(params)}) as r(${list}) ${tail}`.execute(db);
    return Number(result.numAffectedRows ?? 0n);
  };
}

/** Characters that must be escaped inside a quoted element of an array literal. */
const NEEDS_ESCAPE = /["\\]/;
const ESCAPED = /["\\]/g;

/**
 * The `name` field of each of `rows` as one Postgres array literal, in one pass. Strings and JSON
 * are always quoted, so `NULL`, `""`, braces, commas and surrounding spaces stay text; numbers,
 * booleans and dates need no quotes; `null`, `undefined` and an invalid `Date` are SQL NULL (a
 * `not null` column then refuses the row, as Postgres refuses a bad row: no exception here).
 */
export function arrayLiteral(rows: readonly object[], name: string): string {
  let out = "{";
  for (let r = 0; r < rows.length; r++) {
    if (r > 0) out += ",";
    const v = (rows[r] as Record<string, unknown>)[name];
    if (v === null || v === undefined) out += "NULL";
    else if (typeof v === "string") out += quoted(v);
    else if (typeof v === "number" || typeof v === "bigint") out += String(v);
    else if (typeof v === "boolean") out += v ? "t" : "f";
    else if (v instanceof Date) out += Number.isNaN(v.getTime()) ? "NULL" : v.toISOString();
    else out += quoted(JSON.stringify(v));
  }
  return out + "}";
}

function quoted(s: string): string {
  return NEEDS_ESCAPE.test(s) ? `"${s.replace(ESCAPED, "\\$&")}"` : `"${s}"`;
}
