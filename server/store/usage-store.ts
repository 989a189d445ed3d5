import { sql, type Expression, type Kysely, type RawBuilder, type SqlBool } from "kysely";
import { arrayBatchInsert, type EveryColumnListed } from "./array-batch.js";
import type { Database } from "./schema.js";
import { storableCopy } from "./storable-text.js";
import { PG_INTEGER_MAX } from "./pg-integer.js";

/** One ledger row: one provider attempt of one model call (attempt ≥ 1), or a cache hit (0). */
export interface UsageRecordRow {
  /** Made by the gateway per model call; with `attempt`, the row's unique key. */
  callId: string;
  attempt: number;
  /** The RPC's request id. */
  requestId: string;
  orgId: string;
  teamId: string;
  keyId: string;
  route: string;
  provider: string;
  model: string;
  verb: string;
  outcome: string;
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  cacheWriteInputTokens: number;
  reasoningTokens: number;
  costMicros: bigint;
  priceVersion: string;
  estimated: boolean;
  cacheStatus: string;
  tags: Record<string, string>;
  template?: { name: string; version: number };
  /** When the attempt ended. */
  occurredAt: Date;
}

/** A dimension usage can be grouped by. */
export type UsageDimensionName = "org" | "team" | "key" | "route" | "model" | "provider" | "verb" | "tag";
/** A time granularity of a report (UTC). */
export type TimeBucketName = "hour" | "day" | "month";

/** Which ledger rows a report counts. Empty lists mean "any". */
export interface UsageFilterSpec {
  teamIds?: readonly string[];
  keyIds?: readonly string[];
  routes?: readonly string[];
  models?: readonly string[];
  providers?: readonly string[];
  verbs?: readonly string[];
  /** Rows carrying every one of these tags. */
  tags?: Readonly<Record<string, string>>;
}

/** The rows of one org (or of every org) in `[start, end)`, filtered. */
export interface UsageRange {
  /** Undefined: every org (platform reports). */
  orgId?: string;
  start: Date;
  end: Date;
  filter?: UsageFilterSpec;
}

/** An aggregation over a {@link UsageRange}. */
export interface UsageAggregateQuery extends UsageRange {
  groupBy: readonly UsageDimensionName[];
  bucket?: TimeBucketName;
  /** The tag key of the `tag` dimension. */
  tagKey?: string;
  /** A cursor of the previous page's `next` (either form): this page starts just after that group. */
  after?: string;
  limit: number;
}

/**
 * Where the next page of an aggregation starts: just after the last group of this one, by its
 * key, so groups that appear between pages (a ledger flush, a new tag value or model) land before
 * or after the position without shifting it — no group is read twice or skipped, as with OFFSET.
 */
export interface UsageGroupCursors {
  /** The key itself (JSON): resumed with no lookup; as long as the key's values. */
  key: string;
  /** The key's SHA-256 (64 hex digits): a fixed size; resumed by finding a ledger row of the group. */
  digest: string;
}

/** Summed figures; every one exact (integer sums in Postgres). */
export interface UsageTotalsRow {
  /**
   * Distinct request ids of each key (logical requests) among the rows summed: a group's count
   * holds every request with a row in it, so one request touching several groups counts in each,
   * and groups' counts do not add up to the range's (usage_service.proto, `UsageTotals.requests`).
   */
  requests: bigint;
  /** Provider attempts (rows with attempt ≥ 1). */
  attempts: bigint;
  inputTokens: bigint;
  outputTokens: bigint;
  cachedInputTokens: bigint;
  reasoningTokens: bigint;
  costMicros: bigint;
  /** Cache hits (rows with attempt 0). */
  cacheHits: bigint;
}

/** One group of an aggregation. Org, team and key values are internal ids. */
export interface UsageGroupRow {
  group: Partial<Record<UsageDimensionName, string>>;
  bucketStart?: Date;
  totals: UsageTotalsRow;
}

/** One page of an aggregation. */
export interface UsageGroupPage {
  rows: UsageGroupRow[];
  next?: UsageGroupCursors;
}

/** Which spend a budget counts. */
export interface SpendScope {
  orgId: string;
  level: "org" | "team" | "key" | "tag";
  /** Team or key id, or `key=value` for a tag; ignored for `org`. */
  targetId: string;
  start: Date;
  /** Exclusive; undefined: open-ended. */
  end?: Date;
}

/** Resource-name segments of ids, for reports. */
export interface TenancyNames {
  orgs: Map<string, string>;
  teams: Map<string, { org: string; team: string }>;
  keys: Map<string, { org: string; team: string; key: string }>;
}

/** Persistence of the ledger (migration 0005). No policy: the ledger writer and services decide. */
export interface UsageStore {
  /**
   * Inserts rows in one statement, skipping any whose `(call_id, attempt)` is already stored, so
   * a replay never double-counts. Resolves how many rows were new.
   */
  insertBatch(rows: readonly UsageRecordRow[]): Promise<number>;
  /**
   * Keeps records Postgres refused for their content, with the reason, skipping any whose record
   * (the same text) is already kept, so a retried or replayed batch never dead-letters a record
   * twice: the first reason is kept.
   */
  deadLetter(entries: readonly { record: string; error: string }[]): Promise<void>;
  /** How many dead letters there are (distinct records). */
  deadLetterCount(): Promise<bigint>;
  /** Groups in key order (bucket, then the dimensions as listed); `next` when there are more. */
  aggregate(q: UsageAggregateQuery): Promise<UsageGroupPage>;
  totals(q: UsageRange): Promise<UsageTotalsRow>;
  /**
   * One page of {@link aggregate} and the {@link totals} of its whole range and filter, read in
   * one snapshot of the ledger: a batch committing meanwhile is in both or in neither, so a
   * report holding every group on one page has rows that add up to its totals.
   */
  report(q: UsageAggregateQuery): Promise<UsageGroupPage & { totals: UsageTotalsRow }>;
  /** Rows oldest first, after the opaque cursor `after`. */
  list(q: UsageRange & { requestId?: string; after?: string; limit: number }): Promise<{ items: UsageRecordRow[]; after?: string }>;
  /** Settled spend of a budget's scope in a period, in micro-USD. */
  spent(scope: SpendScope): Promise<bigint>;
  names(ids: { orgIds: readonly string[]; teamIds: readonly string[]; keyIds: readonly string[] }): Promise<TenancyNames>;
}

/**
 * A logical request is one RPC of one caller: request ids are the caller's own `x-request-id`
 * when well-formed, so they are counted per key (a key is in one org) — two callers that both
 * number their requests 1, 2, 3 … made different requests.
 */
const SUMS = sql<string>`count(distinct (key_id, request_id)) as requests,
  count(*) filter (where attempt > 0) as attempts,
  coalesce(sum(input_tokens), 0)::bigint as input_tokens,
  coalesce(sum(output_tokens), 0)::bigint as output_tokens,
  coalesce(sum(cached_input_tokens), 0)::bigint as cached_input_tokens,
  coalesce(sum(reasoning_tokens), 0)::bigint as reasoning_tokens,
  coalesce(sum(cost_micros_usd), 0)::bigint as cost_micros_usd,
  count(*) filter (where attempt = 0) as cache_hits`;

const DIMENSION_COLUMN: Record<Exclude<UsageDimensionName, "tag">, string> = {
  org: "org_id",
  team: "team_id",
  key: "key_id",
  route: "route",
  model: "model",
  provider: "provider",
  verb: "verb",
};

/**
 * The key a report groups by — the bucket (if any), then each dimension in order — computed once
 * per ledger row as the columns of a lateral subquery: the grouped query, its order and its seek
 * all name these columns, so none repeats an expression (whose own bind parameters would not
 * match the grouped one). No column is ever NULL (every dimension column is `not null`, a missing
 * tag is '' as in the report), so Postgres's row comparison `(a, b) > (x, y)` orders exactly as
 * `order by a, b` does and seeks strictly past one group.
 */
interface GroupKey {
  /** `usage_records` beside its key columns, which are named `alias`. */
  from(alias: string): RawBuilder<unknown>;
  /** The key columns, for a select list, `group by` and `order by`. */
  columns(alias: string): RawBuilder<unknown>;
  /** The key columns as one row value. */
  row(alias: string): RawBuilder<unknown>;
  /** The key's SHA-256 in hex, the same for a group and for each of its ledger rows. */
  digest(alias: string): RawBuilder<unknown>;
  /** The output column of the i-th dimension. */
  column(i: number): string;
}

function groupKeyOf(q: UsageAggregateQuery): GroupKey | undefined {
  const exprs = [
    ...(q.bucket === undefined ? [] : [{ name: "k_bucket", expr: sql`date_trunc(${q.bucket}, occurred_at at time zone 'UTC') at time zone 'UTC'` }]),
    ...q.groupBy.map((d, i) => ({
      name: `k${i}`,
      expr: d === "tag" ? sql`coalesce(tags ->> ${q.tagKey ?? ""}, '')` : sql.ref(DIMENSION_COLUMN[d]),
    })),
  ];
  if (exprs.length === 0) return undefined;
  const refs = (alias: string) => exprs.map((e) => sql.ref(`${alias}.${e.name}`));
  const columns = (alias: string) => sql`${sql.join(refs(alias))}`;
  return {
    from: (alias) => sql`usage_records cross join lateral (select ${sql.join(exprs.map((e) => sql`${e.expr} as ${sql.ref(e.name)}`))}) as ${sql.ref(alias)}`,
    columns,
    row: (alias) => sql`(${columns(alias)})`,
    // The bucket as epoch seconds: a timestamptz's text depends on the session's TimeZone.
    digest: (alias) => {
      const parts = refs(alias).map((ref, i) => (i === 0 && q.bucket !== undefined ? sql`extract(epoch from ${ref})` : ref));
      return sql`encode(sha256(convert_to(json_build_array(${sql.join(parts)})::text, 'UTF8')), 'hex')`;
    },
    column: (i) => `k${i}`,
  };
}

/**
 * The key a page continues after, as a row value: the cursor's own values, or — for a digest
 * cursor — the key of a ledger row of that group in the same range and filter (the ledger is never
 * deleted from, so the group is still there; an edited digest finds none, compares as NULL and
 * ends the report with an empty page).
 */
function seekTarget(key: GroupKey, q: UsageAggregateQuery, after: string, range: Expression<SqlBool>): RawBuilder<unknown> {
  if (DIGEST.test(after)) return sql`(select ${key.columns("s")} from ${key.from("s")} where ${range} and ${key.digest("s")} = ${after} limit 1)`;
  const values = parseGroupCursor(after, q);
  if (values === undefined) throw new Error("aggregate: after is not a cursor of this query's pages");
  return sql`(${sql.join(values.map((v, i) => (i === 0 && q.bucket !== undefined ? sql`cast(${v} as timestamptz)` : sql`cast(${v} as text)`)))})`;
}

const DIGEST = /^[0-9a-f]{64}$/;
/** A bucket start as `toISOString` writes it, from year 1 (Postgres has no year 0). */
const BUCKET_START = /^(?!0000)\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** The values of a key cursor of `q`'s pages: its bucket start (if bucketed), then one string a dimension. */
function parseGroupCursor(after: string, q: Pick<UsageAggregateQuery, "groupBy" | "bucket">): string[] | undefined {
  let values: unknown;
  try {
    values = JSON.parse(after);
  } catch {
    return undefined;
  }
  const width = q.groupBy.length + (q.bucket === undefined ? 0 : 1);
  if (!Array.isArray(values) || width === 0 || values.length !== width) return undefined;
  // Text a ledger column could hold: Postgres refuses NUL in a text parameter.
  if (!values.every((v): v is string => typeof v === "string" && !v.includes("\u0000"))) return undefined;
  if (q.bucket !== undefined && !(BUCKET_START.test(values[0]!) && new Date(values[0]!).toISOString() === values[0])) return undefined;
  return values;
}

/**
 * Whether `after` is a cursor {@link UsageStore.aggregate} hands out for `q`'s pages (either form;
 * anything else would reach the database malformed). Positions are not authenticated: a well-formed
 * edited one only moves where the page starts.
 */
export function isUsageGroupCursor(after: string, q: Pick<UsageAggregateQuery, "groupBy" | "bucket">): boolean {
  if (q.groupBy.length === 0 && q.bucket === undefined) return false;
  return DIGEST.test(after) || parseGroupCursor(after, q) !== undefined;
}

/** Creates the {@link UsageStore} over a kysely database (Postgres or PGlite). */
export function createUsageStore(db: Kysely<Database>): UsageStore {
  const where = (q: UsageRange): Expression<SqlBool> => {
    const parts = [sql`occurred_at >= ${q.start}`, sql`occurred_at < ${q.end}`];
    if (q.orgId !== undefined) parts.push(sql`org_id = ${q.orgId}`);
    const f = q.filter ?? {};
    const anyOf = (column: string, values: readonly string[] | undefined) => {
      if (values !== undefined && values.length > 0) parts.push(sql`${sql.ref(column)} in (${sql.join(values)})`);
    };
    anyOf("team_id", f.teamIds);
    anyOf("key_id", f.keyIds);
    anyOf("route", f.routes);
    anyOf("model", f.models);
    anyOf("provider", f.providers);
    anyOf("verb", f.verbs);
    for (const [k, v] of Object.entries(f.tags ?? {})) parts.push(sql`tags ->> ${k} = ${v}`);
    return sql<SqlBool>`${sql.join(parts, sql` and `)}`;
  };

  const aggregateOn = async (exec: Kysely<Database>, q: UsageAggregateQuery): Promise<UsageGroupPage> => {
    const key = groupKeyOf(q);
    if (key === undefined) {
      // One group, the whole range: there is never a next page.
      const result = await sql<Record<string, unknown>>`select ${SUMS} from usage_records where ${where(q)}`.execute(exec);
      return { rows: result.rows.slice(0, q.limit).map((row) => ({ group: {}, totals: toTotals(row) })) };
    }
    const parts = [where(q)];
    if (q.after !== undefined) parts.push(sql`${key.row("k")} > ${seekTarget(key, q, q.after, where(q))}`);
    const result = await sql<Record<string, unknown>>`select ${key.columns("k")}, ${key.digest("k")} as key_digest, ${SUMS}
      from ${key.from("k")} where ${sql.join(parts, sql` and `)}
      group by ${key.columns("k")} order by ${key.columns("k")} limit ${q.limit + 1}`.execute(exec);
    const page = result.rows.slice(0, q.limit);
    const rows = page.map((row) => ({
      group: Object.fromEntries(q.groupBy.map((d, i) => [d, String(row[key.column(i)])])),
      ...(q.bucket === undefined ? {} : { bucketStart: new Date(row.k_bucket as Date | string) }),
      totals: toTotals(row),
    }));
    const last = page.at(-1);
    const lastRow = rows.at(-1);
    if (result.rows.length <= q.limit || last === undefined || lastRow === undefined) return { rows };
    const values = [...(lastRow.bucketStart === undefined ? [] : [lastRow.bucketStart.toISOString()]), ...q.groupBy.map((d) => lastRow.group[d] ?? "")];
    return { rows, next: { key: JSON.stringify(values), digest: String(last.key_digest) } };
  };

  const totalsOn = async (exec: Kysely<Database>, q: UsageRange): Promise<UsageTotalsRow> => {
    const result = await sql<Record<string, unknown>>`select ${SUMS} from usage_records where ${where(q)}`.execute(exec);
    return toTotals(result.rows[0] ?? {});
  };

  return {
    async insertBatch(rows) {
      if (rows.length === 0) return 0;
      return insertRecords(db, rows.map(toColumns));
    },

    async deadLetter(entries) {
      if (entries.length === 0) return;
      // Made storable: a dead letter is often a line that is unreadable because it holds bytes
      // Postgres refuses (NUL); refused here, it would be retried as an outage forever. The key is
      // the digest of the stored text, by the expression migration 0010 filled existing rows with.
      const rows = entries.map((e) => {
        const record = storableCopy(e.record);
        return { record, record_sha256: sql<Uint8Array>`sha256(convert_to(${record}, 'UTF8'))`, error: storableCopy(e.error) };
      });
      await db.insertInto("usage_dead_letters").values(rows).onConflict((oc) => oc.column("record_sha256").doNothing()).execute();
    },

    async deadLetterCount() {
      const row = await db.selectFrom("usage_dead_letters").select(sql<bigint>`count(*)`.as("n")).executeTakeFirstOrThrow();
      return BigInt(row.n);
    },

    aggregate: (q) => aggregateOn(db, q),
    totals: (q) => totalsOn(db, q),

    report(q) {
      // Two statements in one REPEATABLE READ transaction share the snapshot its first one takes
      // (read only: it writes nothing). Under the default READ COMMITTED — or on two pooled
      // connections at once — a flush committing between them would count in the totals only.
      return db
        .transaction()
        .setIsolationLevel("repeatable read")
        .setAccessMode("read only")
        .execute(async (trx) => {
          const page = await aggregateOn(trx, q);
          return { ...page, totals: await totalsOn(trx, q) };
        });
    },

    async list(q) {
      const cursor = q.after === undefined ? undefined : parseCursor(q.after);
      let query = db
        .selectFrom("usage_records")
        .selectAll()
        .where(where(q))
        .orderBy("occurred_at")
        .orderBy("call_id")
        .orderBy("attempt")
        .limit(q.limit + 1);
      if (q.requestId !== undefined) query = query.where("request_id", "=", q.requestId);
      if (cursor !== undefined) {
        query = query.where(sql<SqlBool>`(occurred_at, call_id, attempt) > (${cursor.at}, ${cursor.callId}, ${cursor.attempt})`);
      }
      const rows = await query.execute();
      const items = rows.slice(0, q.limit).map((row) => fromColumns(row as unknown as Record<string, unknown>));
      const last = items.at(-1);
      const more = rows.length > q.limit && last !== undefined;
      return { items, ...(more ? { after: JSON.stringify([last.occurredAt.toISOString(), last.callId, last.attempt]) } : {}) };
    },

    async spent(scope) {
      const parts = [sql`org_id = ${scope.orgId}`, sql`occurred_at >= ${scope.start}`];
      if (scope.end !== undefined) parts.push(sql`occurred_at < ${scope.end}`);
      if (scope.level === "team") parts.push(sql`team_id = ${scope.targetId}`);
      if (scope.level === "key") parts.push(sql`key_id = ${scope.targetId}`);
      if (scope.level === "tag") {
        const at = scope.targetId.indexOf("=");
        parts.push(sql`tags ->> ${scope.targetId.slice(0, at)} = ${scope.targetId.slice(at + 1)}`);
      }
      const result = await sql<{ spent: bigint }>`select coalesce(sum(cost_micros_usd), 0)::bigint as spent from usage_records
        where ${sql.join(parts, sql` and `)}`.execute(db);
      return BigInt(result.rows[0]?.spent ?? 0n);
    },

    async names(ids) {
      const out: TenancyNames = { orgs: new Map(), teams: new Map(), keys: new Map() };
      if (ids.orgIds.length > 0) {
        for (const r of await db.selectFrom("orgs").select(["id", "name"]).where("id", "in", [...ids.orgIds]).execute()) out.orgs.set(r.id, r.name);
      }
      if (ids.teamIds.length > 0) {
        const rows = await db
          .selectFrom("teams")
          .innerJoin("orgs", "orgs.id", "teams.org_id")
          .select(["teams.id", "teams.name", "orgs.name as org"])
          .where("teams.id", "in", [...ids.teamIds])
          .execute();
        for (const r of rows) out.teams.set(r.id, { org: r.org, team: r.name });
      }
      if (ids.keyIds.length > 0) {
        const rows = await db
          .selectFrom("keys")
          .innerJoin("teams", "teams.id", "keys.team_id")
          .innerJoin("orgs", "orgs.id", "keys.org_id")
          .select(["keys.id", "keys.name", "teams.name as team", "orgs.name as org"])
          .where("keys.id", "in", [...ids.keyIds])
          .execute();
        for (const r of rows) out.keys.set(r.id, { org: r.org, team: r.team, key: r.name });
      }
      return out;
    },
  };
}

/** The columns `insertBatch` writes, with the Postgres type of each (each travels as an array of it). */
const INSERT_COLUMNS = [
  ["call_id", "text"],
  ["attempt", "integer"],
  ["request_id", "text"],
  ["org_id", "text"],
  ["team_id", "text"],
  ["key_id", "text"],
  ["route", "text"],
  ["provider", "text"],
  ["model", "text"],
  ["verb", "text"],
  ["outcome", "text"],
  ["input_tokens", "bigint"],
  ["output_tokens", "bigint"],
  ["cached_input_tokens", "bigint"],
  ["cache_write_input_tokens", "bigint"],
  ["reasoning_tokens", "bigint"],
  ["cost_micros_usd", "bigint"],
  ["price_version", "text"],
  ["estimated", "boolean"],
  ["cache_status", "text"],
  ["tags", "jsonb"],
  ["template_name", "text"],
  ["template_version", "integer"],
  ["occurred_at", "timestamptz"],
] as const satisfies readonly (readonly [keyof ReturnType<typeof toColumns>, string])[];

/** One statement per batch, one array parameter per column; a replayed row is skipped by its unique key. */
const insertRecords = arrayBatchInsert("usage_records", INSERT_COLUMNS, { onConflict: "on conflict (call_id, attempt) do nothing" });

/** Compile-time check that `INSERT_COLUMNS` names every column of a row. */
const everyColumnListed: EveryColumnListed<ReturnType<typeof toColumns>, typeof INSERT_COLUMNS> = true;
void everyColumnListed;

/** A row under its column names, as `insertBatch` sends it: tags as an object (a `jsonb` column). */
function toColumns(r: UsageRecordRow) {
  return {
    call_id: r.callId,
    attempt: r.attempt,
    request_id: r.requestId,
    org_id: r.orgId,
    team_id: r.teamId,
    key_id: r.keyId,
    route: r.route,
    provider: r.provider,
    model: r.model,
    verb: r.verb,
    outcome: r.outcome,
    input_tokens: r.inputTokens,
    output_tokens: r.outputTokens,
    cached_input_tokens: r.cachedInputTokens,
    cache_write_input_tokens: r.cacheWriteInputTokens,
    reasoning_tokens: r.reasoningTokens,
    cost_micros_usd: r.costMicros,
    price_version: r.priceVersion,
    estimated: r.estimated,
    cache_status: r.cacheStatus,
    tags: r.tags,
    template_name: r.template?.name ?? null,
    template_version: r.template?.version ?? null,
    occurred_at: r.occurredAt,
  };
}

function fromColumns(r: Record<string, unknown>): UsageRecordRow {
  const name = r.template_name as string | null;
  return {
    callId: r.call_id as string,
    attempt: Number(r.attempt),
    requestId: r.request_id as string,
    orgId: r.org_id as string,
    teamId: r.team_id as string,
    keyId: r.key_id as string,
    route: r.route as string,
    provider: r.provider as string,
    model: r.model as string,
    verb: r.verb as string,
    outcome: r.outcome as string,
    inputTokens: Number(r.input_tokens),
    outputTokens: Number(r.output_tokens),
    cachedInputTokens: Number(r.cached_input_tokens),
    cacheWriteInputTokens: Number(r.cache_write_input_tokens),
    reasoningTokens: Number(r.reasoning_tokens),
    costMicros: BigInt(r.cost_micros_usd as bigint),
    priceVersion: r.price_version as string,
    estimated: r.estimated as boolean,
    cacheStatus: r.cache_status as string,
    tags: (r.tags ?? {}) as Record<string, string>,
    ...(name === null ? {} : { template: { name, version: Number(r.template_version) } }),
    occurredAt: new Date(r.occurred_at as Date),
  };
}

function toTotals(row: Record<string, unknown>): UsageTotalsRow {
  const n = (v: unknown): bigint => (v === undefined || v === null ? 0n : BigInt(v as bigint | string | number));
  return {
    requests: n(row.requests),
    attempts: n(row.attempts),
    inputTokens: n(row.input_tokens),
    outputTokens: n(row.output_tokens),
    cachedInputTokens: n(row.cached_input_tokens),
    reasoningTokens: n(row.reasoning_tokens),
    costMicros: n(row.cost_micros_usd),
    cacheHits: n(row.cache_hits),
  };
}

/** The times a list cursor may hold: a Timestamp's range, 0001-01-01 to 9999-12-31 (UTC). */
const CURSOR_TIME_MIN_MS = Date.parse("0001-01-01T00:00:00.000Z");
const CURSOR_TIME_MAX_MS = Date.parse("9999-12-31T23:59:59.999Z");

/** Whether `after` is a cursor {@link UsageStore.list} handed out (anything else would reach the database malformed). */
export function isUsageCursor(after: string): boolean {
  return parseCursor(after) !== undefined;
}

function parseCursor(after: string): { at: Date; callId: string; attempt: number } | undefined {
  try {
    const [at, callId, attempt] = JSON.parse(after) as [string, string, number];
    if (typeof at !== "string" || typeof callId !== "string" || !Number.isInteger(attempt) || attempt < 0 || attempt > PG_INTEGER_MAX) return undefined;
    // Text and a time a ledger column could hold: Postgres refuses NUL in a text parameter, and a
    // Date before its first timestamp (JavaScript's reach further back).
    if (callId.includes("\u0000")) return undefined;
    const time = new Date(at).getTime();
    if (Number.isNaN(time) || time < CURSOR_TIME_MIN_MS || time > CURSOR_TIME_MAX_MS) return undefined;
    return { at: new Date(at), callId, attempt };
  } catch {
    return undefined;
  }
}
