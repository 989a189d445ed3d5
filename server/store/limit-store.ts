import { sql, type Kysely, type Transaction } from "kysely";
import { newId } from "./ids.js";
import { lockedChange, type Change } from "./locked-change.js";
import { runIdempotent, type IdempotencyKey, type IdempotentOutcome } from "./idempotent.js";
import { toPage, type Page, type PageRequest } from "./paging.js";
import { removedRows } from "./revision-removals.js";
import type { Database } from "./schema.js";

/** What a budget or rate limit applies to. */
export interface LimitTarget {
  /** As given: `orgs/{org}`, `…/teams/{team}`, `…/keys/{key}` or `tags/{key}={value}`. */
  target: string;
  level: "org" | "team" | "key" | "tag";
  /** Internal id of the org, team or key, or `key=value` for a tag. */
  targetId: string;
}

/** A budget's settable fields. */
export interface BudgetFields extends LimitTarget {
  limitMicros: bigint;
  period: "daily" | "weekly" | "monthly" | "total";
  timeZone: string;
  alertThresholdsPercent: number[];
  alertWebhookUrl: string;
}

/** A rate limit's settable fields. */
export interface RateLimitFields extends LimitTarget {
  requestsPerMinute: number;
  tokensPerMinute: number;
}

/** Identity and times every stored limit has. */
interface Stored {
  id: string;
  orgId: string;
  /** The owning org's resource-name segment. */
  orgName: string;
  /** `{budget}` / `{limit}` of the resource name. */
  name: string;
  createdAt: Date;
  updatedAt: Date;
}

/** A budget as stored. */
export type BudgetRecord = Stored &
  BudgetFields & {
    /**
     * Which fast-path counters count the budget's spend (part of their keys; 0: the keys of a
     * budget never changed in this way). Not settable: the store gives the budget a fresh value
     * (a `limit_revisions` value, never 0 or reused) when it is created under a name the org used
     * before, or updated to another period, time zone or target — then the counters, seeded for
     * another stretch of time or target, must not be reused; other updates keep it, so calls in
     * flight settle into the counters that admit the next ones.
     */
    counterEpoch: bigint;
  };
/** A rate limit as stored. */
export type RateLimitRecord = Stored & RateLimitFields;

/** CRUD of one kind of limit within one org. */
export interface LimitTable<Fields, Rec> {
  create(orgId: string, name: string, fields: Fields, key?: IdempotencyKey): Promise<IdempotentOutcome<Rec, { kind: "exists" }>>;
  get(orgId: string, name: string): Promise<Rec | undefined>;
  list(orgId: string, page: PageRequest, target?: string): Promise<Page<Rec>>;
  /** Replaces the given fields of a live row: the row it replaced and the row it made; undefined when there is none. */
  update(orgId: string, name: string, patch: Partial<Fields>): Promise<Change<Rec> | undefined>;
  /** Soft-deletes (the revision moves, so caches drop it): the row it deleted, as it was; undefined when none. */
  delete(orgId: string, name: string): Promise<Rec | undefined>;
}

/** Persistence of budgets and rate limits (migration 0005). Holds no policy. */
export interface LimitStore {
  budgets: LimitTable<BudgetFields, BudgetRecord>;
  rateLimits: LimitTable<RateLimitFields, RateLimitRecord>;
  /**
   * Moves whenever any budget or rate limit changes: the count and revision sum of every row of
   * both tables, deleted ones included. Not `max(revision)`: writers take revisions before they
   * commit, so two can commit in the other order, and the earlier revision's commit would leave the
   * maximum where it was. With the rows DeleteOrg removed for good (whose drop a late commit could
   * otherwise offset).
   */
  revision(): Promise<string>;
  /** Every live budget and rate limit of every org. */
  loadAll(): Promise<{ budgets: BudgetRecord[]; rateLimits: RateLimitRecord[] }>;
}

type Table = "budgets" | "rate_limits";
type Row = Record<string, unknown> & { id: string };

/** Columns a table computes itself in the insert or update of a row (beyond its fields). */
interface DerivedColumns<Fields> {
  /** Extra values of a new row named `limitName` in `orgId`. */
  created(orgId: string, limitName: string): Record<string, unknown>;
  /** Extra assignments of an update applying `patch` (they see the row's old values). */
  updated(patch: Partial<Fields>): Record<string, unknown>;
}

/** Creates the {@link LimitStore} over a kysely database (Postgres or PGlite). */
export function createLimitStore(db: Kysely<Database>): LimitStore {
  const table = <Fields extends LimitTarget, Rec extends Stored>(
    name: Table,
    prefix: "budget" | "ratelimit",
    columns: (f: Partial<Fields>) => Record<string, unknown>,
    toRecord: (row: Row) => Rec,
    derived?: DerivedColumns<Fields>,
  ): LimitTable<Fields, Rec> => {
    // Untyped here: both tables share these columns; the mappers own the typed shapes.
    const q = db as unknown as Kysely<Record<Table | "orgs", Record<string, unknown>>>;
    const live = (tx: typeof q, orgId: string) =>
      tx
        .selectFrom(`${name} as l`)
        .innerJoin("orgs", "orgs.id", "l.org_id")
        .selectAll("l")
        .select("orgs.name as org_name")
        .where("l.org_id", "=", orgId)
        .where("l.deleted_at", "is", null);
    const getIn = async (tx: typeof q, orgId: string, id: string) => {
      const row = await live(tx, orgId).where("l.id", "=", id).executeTakeFirst();
      return row === undefined ? undefined : toRecord(row as unknown as Row);
    };
    // The live row of a name, locked until the transaction ends (see lockedChange).
    const lockLive = async (tx: typeof q, orgId: string, limitName: string) => {
      const row = await live(tx, orgId).where("l.name", "=", limitName).forUpdate(["l"]).executeTakeFirst();
      return row === undefined ? undefined : toRecord(row as unknown as Row);
    };
    return {
      async create(orgId, limitName, fields, key) {
        return runIdempotent<Rec, { kind: "exists" }>(
          db,
          key,
          async (tx: Transaction<Database>) => {
            const id = newId(prefix);
            const inserted = await (tx as unknown as typeof q)
              .insertInto(name)
              .values({ id, org_id: orgId, name: limitName, ...columns(fields), ...derived?.created(orgId, limitName) })
              .onConflict((oc) => oc.expression(sql`org_id, name`).where("deleted_at", "is", null).doNothing())
              .returning("id")
              .executeTakeFirst();
            if (inserted === undefined) return { kind: "exists" as const };
            return { kind: "created" as const, record: (await getIn(tx as unknown as typeof q, orgId, id))!, id };
          },
          async (tx, id) => getIn(tx as unknown as typeof q, orgId, id),
        );
      },
      async get(orgId, limitName) {
        const row = await live(q, orgId).where("l.name", "=", limitName).executeTakeFirst();
        return row === undefined ? undefined : toRecord(row as unknown as Row);
      },
      async list(orgId, page, target) {
        let query = live(q, orgId).orderBy("l.id").limit(page.limit + 1);
        if (page.after !== undefined) query = query.where("l.id", ">", page.after);
        if (target !== undefined && target !== "") query = query.where("l.target", "=", target);
        return toPage((await query.execute()) as unknown as Row[], page.limit, toRecord);
      },
      async update(orgId, limitName, patch) {
        const change = await lockedChange(db, (tx) => lockLive(tx as unknown as typeof q, orgId, limitName), async (tx, before) => {
          const t = tx as unknown as typeof q;
          await t
            .updateTable(name)
            .set({ ...columns(patch), ...derived?.updated(patch), revision: sql`nextval('limit_revisions')`, updated_at: sql`now()` })
            .where("id", "=", before.id)
            .execute();
          return (await getIn(t, orgId, before.id))!;
        });
        return change && { before: change.before, after: change.made };
      },
      async delete(orgId, limitName) {
        const change = await lockedChange(db, (tx) => lockLive(tx as unknown as typeof q, orgId, limitName), async (tx, before) => {
          await (tx as unknown as typeof q)
            .updateTable(name)
            .set({ deleted_at: sql`now()`, revision: sql`nextval('limit_revisions')`, updated_at: sql`now()` })
            .where("id", "=", before.id)
            .execute();
        });
        return change?.before;
      },
    };
  };

  const targetColumns = (f: Partial<LimitTarget>) => ({
    ...(f.target === undefined ? {} : { target: f.target }),
    ...(f.level === undefined ? {} : { level: f.level }),
    ...(f.targetId === undefined ? {} : { target_id: f.targetId }),
  });
  const budgetColumns = (f: Partial<BudgetFields>) => ({
    ...targetColumns(f),
    ...(f.limitMicros === undefined ? {} : { limit_micros_usd: f.limitMicros.toString() }),
    ...(f.period === undefined ? {} : { period: f.period }),
    ...(f.timeZone === undefined ? {} : { time_zone: f.timeZone }),
    ...(f.alertThresholdsPercent === undefined ? {} : { alert_thresholds_percent: JSON.stringify(f.alertThresholdsPercent) }),
    ...(f.alertWebhookUrl === undefined ? {} : { alert_webhook_url: f.alertWebhookUrl }),
  });
  const budgets = table<BudgetFields, BudgetRecord>("budgets", "budget", budgetColumns, budgetOf, {
    // Any earlier row of the name is a deleted one (a live one makes the insert a conflict): its
    // counters may still live, seeded for its target, so the new budget gets its own.
    created: (orgId, limitName) => ({
      counter_epoch: sql`case when exists (select 1 from budgets where org_id = ${orgId} and name = ${limitName}) then nextval('limit_revisions') else 0 end`,
    }),
    // What the counters count: the stretch of time (period, time zone) and whose spend (target).
    // Compared in the statement itself, so a change is seen against the row it replaces, and a
    // patch that sets the same value (or only the limit or alerts) keeps the counters.
    updated: (patch) => {
      const changes = Object.entries(budgetColumns({ period: patch.period, timeZone: patch.timeZone, level: patch.level, targetId: patch.targetId })).map(
        ([column, value]) => sql`${sql.ref(column)} is distinct from ${value}`,
      );
      if (changes.length === 0) return {};
      return { counter_epoch: sql`case when ${sql.join(changes, sql` or `)} then nextval('limit_revisions') else counter_epoch end` };
    },
  });
  const rateLimits = table<RateLimitFields, RateLimitRecord>(
    "rate_limits",
    "ratelimit",
    (f) => ({
      ...targetColumns(f),
      ...(f.requestsPerMinute === undefined ? {} : { requests_per_minute: f.requestsPerMinute }),
      ...(f.tokensPerMinute === undefined ? {} : { tokens_per_minute: f.tokensPerMinute }),
    }),
    rateLimitOf,
  );

  return {
    budgets,
    rateLimits,
    async revision() {
      const result = await sql<{ n: string; s: string; r: string }>`select
        ((select count(*) from budgets) + (select count(*) from rate_limits))::text as n,
        (coalesce((select sum(revision) from budgets), 0) + coalesce((select sum(revision) from rate_limits), 0))::text as s,
        ${removedRows("limits")} as r`.execute(db);
      const row = result.rows[0];
      return `${row?.n ?? 0}:${row?.s ?? 0}:${row?.r ?? 0}`;
    },
    async loadAll() {
      const load = async (name: Table) =>
        (await sql<Row>`select l.*, orgs.name as org_name from ${sql.table(name)} l join orgs on orgs.id = l.org_id where l.deleted_at is null order by l.id`.execute(db)).rows;
      const [b, r] = await Promise.all([load("budgets"), load("rate_limits")]);
      return { budgets: b.map(budgetOf), rateLimits: r.map(rateLimitOf) };
    },
  };
}

function budgetOf(r: Row): BudgetRecord {
  return {
    ...storedOf(r),
    limitMicros: BigInt(r.limit_micros_usd as bigint),
    period: r.period as BudgetFields["period"],
    timeZone: r.time_zone as string,
    alertThresholdsPercent: (r.alert_thresholds_percent ?? []) as number[],
    alertWebhookUrl: r.alert_webhook_url as string,
    counterEpoch: BigInt((r.counter_epoch ?? 0) as bigint),
  };
}

function rateLimitOf(r: Row): RateLimitRecord {
  return { ...storedOf(r), requestsPerMinute: Number(r.requests_per_minute), tokensPerMinute: Number(r.tokens_per_minute) };
}

function storedOf(r: Row): Stored & LimitTarget {
  return {
    id: r.id,
    orgId: r.org_id as string,
    orgName: r.org_name as string,
    name: r.name as string,
    target: r.target as string,
    level: r.level as LimitTarget["level"],
    targetId: r.target_id as string,
    createdAt: new Date(r.created_at as Date),
    updatedAt: new Date(r.updated_at as Date),
  };
}
