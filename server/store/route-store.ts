import { sql, type Kysely, type Transaction } from "kysely";
import { credentialsNamedBy, lockCredentialUse } from "./credential-use.js";
import { runIdempotent, type IdempotencyKey, type IdempotentOutcome } from "./idempotent.js";
import { newId } from "./ids.js";
import { lockedChange, type Change } from "./locked-change.js";
import { toPage, type Page, type PageRequest } from "./paging.js";
import { removedRows } from "./revision-removals.js";
import type { Database } from "./schema.js";

/** A route as stored. `orgId` null is a global route. */
export interface RouteRecord {
  id: string;
  orgId: string | null;
  /** The owning org's resource-name segment, for building `orgs/{org}/routes/{alias}`. */
  orgName: string | null;
  alias: string;
  /** `switchboard.v1.Route` in protobuf JSON. */
  spec: unknown;
  revision: bigint;
  createdAt: Date;
  updatedAt: Date;
}

/** Persistence of routes (migration 0003). Holds no policy: validation happens before it. */
export interface RouteStore {
  /** Inserts a route; `exists` when a live route has that alias in that scope. */
  create(orgId: string | null, alias: string, spec: unknown): Promise<RouteRecord | "exists">;
  /**
   * {@link create} under a caller's `request_id` (AIP-155), as every admin create: a repeat answers
   * with the route the first call made (`replayed_gone` once it was deleted) and never makes another.
   */
  createOnce(orgId: string | null, alias: string, spec: unknown, key: IdempotencyKey | undefined): Promise<IdempotentOutcome<RouteRecord, { kind: "exists" }>>;
  /** Inserts a route unless one with that alias exists in that scope (config seeding). */
  seed(orgId: string | null, alias: string, spec: unknown): Promise<boolean>;
  get(orgId: string | null, alias: string): Promise<RouteRecord | undefined>;
  list(orgId: string | null, page: PageRequest): Promise<Page<RouteRecord>>;
  /**
   * Replaces a live route's spec only if its revision is still `revision` (compare-and-set, so
   * replicas seeding the same config at once change it once): the row it replaced and the row it
   * made; undefined when it moved or is gone.
   */
  replaceIf(orgId: string | null, alias: string, revision: bigint, spec: unknown): Promise<Change<RouteRecord> | undefined>;
  /** Soft-deletes a live route (its revision moves, so caches drop it): the row it deleted, as it was; undefined when none. */
  delete(orgId: string | null, alias: string): Promise<RouteRecord | undefined>;
  /**
   * Moves whenever any route changes: the count and revision sum of every row, deleted ones
   * included. Not `max(revision)`: writers take revisions before they commit, so two can commit in
   * the other order, and the earlier revision's commit would leave the maximum where it was. With
   * the rows DeleteOrg removed for good (whose drop a late commit could otherwise offset).
   */
  revision(): Promise<string>;
  /** Every live route, global and per org. */
  loadAll(): Promise<RouteRecord[]>;
}

/** Creates the {@link RouteStore} over a kysely database (Postgres or PGlite). */
export function createRouteStore(db: Kysely<Database>): RouteStore {
  const live = (orgId: string | null, alias: string, q: Kysely<Database> | Transaction<Database> = db) =>
    q
      .selectFrom("routes")
      .leftJoin("orgs", "orgs.id", "routes.org_id")
      .selectAll("routes")
      .select("orgs.name as org_name")
      .where("routes.alias", "=", alias)
      .where("routes.deleted_at", "is", null)
      .where((eb) => (orgId === null ? eb("routes.org_id", "is", null) : eb("routes.org_id", "=", orgId)));

  // The live route, locked until the transaction ends (see lockedChange).
  const lockLive = async (tx: Transaction<Database>, orgId: string | null, alias: string) => {
    const row = await live(orgId, alias, tx).forUpdate(["routes"]).executeTakeFirst();
    return row && toRecord(row);
  };
  const bump = { revision: sql<bigint>`nextval('route_revisions')`, updated_at: sql<Date>`now()` };

  return {
    async create(orgId, alias, spec) {
      const outcome = await this.createOnce(orgId, alias, spec, undefined);
      return outcome.kind === "created" ? outcome.record : "exists";
    },
    async createOnce(orgId, alias, spec, key) {
      return runIdempotent<RouteRecord, { kind: "exists" }>(
        db,
        key,
        async (tx) => {
          const id = newId("route");
          const inserted = await tx
            .insertInto("routes")
            .values({ id, org_id: orgId, alias, spec: JSON.stringify(spec) })
            .onConflict((oc) => oc.expression(sql`coalesce(org_id, ''), alias`).where("deleted_at", "is", null).doNothing())
            .returning("id")
            .executeTakeFirst();
          if (inserted === undefined) return { kind: "exists" as const };
          // Commits before, or waits for, a delete of a credential it names (see credential-use.ts).
          await lockCredentialUse(tx, credentialsNamedBy(spec), "shared");
          return { kind: "created" as const, record: toRecord(await live(orgId, alias, tx).executeTakeFirstOrThrow()), id };
        },
        async (tx, id) => {
          const row = await tx
            .selectFrom("routes")
            .leftJoin("orgs", "orgs.id", "routes.org_id")
            .selectAll("routes")
            .select("orgs.name as org_name")
            .where("routes.id", "=", id)
            .where("routes.deleted_at", "is", null)
            .executeTakeFirst();
          return row && toRecord(row);
        },
      );
    },
    async seed(orgId, alias, spec) {
      return (await this.create(orgId, alias, spec)) !== "exists";
    },
    async get(orgId, alias) {
      const row = await live(orgId, alias).executeTakeFirst();
      return row && toRecord(row);
    },
    async list(orgId, page) {
      let q = db
        .selectFrom("routes")
        .leftJoin("orgs", "orgs.id", "routes.org_id")
        .selectAll("routes")
        .select("orgs.name as org_name")
        .where("routes.deleted_at", "is", null)
        .where((eb) => (orgId === null ? eb("routes.org_id", "is", null) : eb("routes.org_id", "=", orgId)))
        .orderBy("routes.id")
        .limit(page.limit + 1);
      if (page.after !== undefined) q = q.where("routes.id", ">", page.after);
      return toPage(await q.execute(), page.limit, toRecord);
    },
    async replaceIf(orgId, alias, revision, spec) {
      const change = await lockedChange(db, (tx) => lockLive(tx, orgId, alias), async (tx, current) => {
        if (current.revision !== revision) return undefined;
        await tx.updateTable("routes").set({ spec: JSON.stringify(spec), ...bump }).where("id", "=", current.id).execute();
        await lockCredentialUse(tx, credentialsNamedBy(spec), "shared");
        return toRecord(await live(orgId, alias, tx).executeTakeFirstOrThrow());
      });
      return change?.made && { before: change.before, after: change.made };
    },
    async delete(orgId, alias) {
      const change = await lockedChange(db, (tx) => lockLive(tx, orgId, alias), async (tx, current) => {
        await tx.updateTable("routes").set({ deleted_at: sql<Date>`now()`, ...bump }).where("id", "=", current.id).execute();
      });
      return change?.before;
    },
    async revision() {
      const row = await db
        .selectFrom("routes")
        .select([sql<string>`count(*)::text`.as("n"), sql<string>`coalesce(sum(revision), 0)::text`.as("s"), removedRows("routes").as("r")])
        .executeTakeFirstOrThrow();
      return `${row.n}:${row.s}:${row.r}`;
    },
    async loadAll() {
      const rows = await db
        .selectFrom("routes")
        .leftJoin("orgs", "orgs.id", "routes.org_id")
        .selectAll("routes")
        .select("orgs.name as org_name")
        .where("routes.deleted_at", "is", null)
        .orderBy("routes.id")
        .execute();
      return rows.map(toRecord);
    },
  };
}

interface RouteRow {
  id: string;
  org_id: string | null;
  org_name: string | null;
  alias: string;
  spec: unknown;
  revision: bigint;
  created_at: Date;
  updated_at: Date;
}

function toRecord(row: RouteRow): RouteRecord {
  return {
    id: row.id,
    orgId: row.org_id,
    orgName: row.org_name,
    alias: row.alias,
    spec: row.spec,
    revision: BigInt(row.revision),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
