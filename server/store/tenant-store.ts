import type { Kysely, Transaction } from "kysely";
import { policiesAttachedTo, type AttachedPolicies } from "./guardrail-attachments.js";
import { newId } from "./ids.js";
import { templatesAttachedTo, type AttachedTemplates } from "./prompt-attachment-targets.js";
import { lockedChange, type Change } from "./locked-change.js";
import { countRemoval } from "./revision-removals.js";
import { runIdempotent, type IdempotencyKey, type IdempotentOutcome } from "./idempotent.js";
import { scopedOrgId, toPage, type OrgScope, type Page, type PageRequest } from "./paging.js";
import type { Database } from "./schema.js";

/** An org as stored. */
export interface OrgRecord {
  /** Internal id (`org_…`). */
  id: string;
  /** Resource-name segment: `orgs/{name}`. */
  name: string;
  displayName: string;
  labels: Record<string, string>;
  createdAt: Date;
  updatedAt: Date;
}

/** A team as stored, with its org's name for building resource names. */
export interface TeamRecord {
  id: string;
  orgId: string;
  orgName: string;
  /** Resource-name segment: `orgs/{orgName}/teams/{name}`. */
  name: string;
  displayName: string;
  labels: Record<string, string>;
  createdAt: Date;
  updatedAt: Date;
}

/** The human-facing fields of an org or team. */
export interface TenantFields {
  displayName: string;
  labels: Record<string, string>;
}

/** The fields an update changes; absent fields stay as they are. */
export type TenantPatch = Partial<TenantFields>;

/** Repository of orgs and teams. Every method is limited to the {@link OrgScope} it is given. */
export interface TenantStore {
  /** Creates an org; `exists` when the name is taken. */
  createOrg(name: string, fields: TenantFields, key?: IdempotencyKey): Promise<IdempotentOutcome<OrgRecord, { kind: "exists" }>>;
  getOrg(name: string, scope: OrgScope): Promise<OrgRecord | undefined>;
  listOrgs(scope: OrgScope, page: PageRequest): Promise<Page<OrgRecord>>;
  /** Applies `patch`: the org before and after it; undefined when there is none in `scope`. */
  updateOrg(name: string, scope: OrgScope, patch: TenantPatch, now: Date): Promise<Change<OrgRecord> | undefined>;
  /**
   * Deletes an org with no teams, no live routes, budgets or rate limits, and no live guardrail
   * policy or prompt template of another scope attached to it or anything under it (its
   * credentials, own templates and own guardrail policies go with it), together with its
   * soft-deleted routes and limits; `deleted` is the org as it was. An attachment in the way comes
   * back as the {@link AttachedPolicies} or {@link AttachedTemplates} naming it.
   */
  deleteOrg(name: string, scope: OrgScope): Promise<{ deleted: OrgRecord } | "not_found" | "has_teams" | "has_limits_or_routes" | AttachedPolicies | AttachedTemplates>;
  /** Creates a team; `org_not_found` also when the org is outside `scope`. */
  createTeam(
    orgName: string,
    name: string,
    scope: OrgScope,
    fields: TenantFields,
    key?: IdempotencyKey,
  ): Promise<IdempotentOutcome<TeamRecord, { kind: "exists" } | { kind: "org_not_found" }>>;
  getTeam(orgName: string, name: string, scope: OrgScope): Promise<TeamRecord | undefined>;
  /** A page of an org's teams; `undefined` when the org does not exist in `scope`. */
  listTeams(orgName: string, scope: OrgScope, page: PageRequest): Promise<Page<TeamRecord> | undefined>;
  /** Applies `patch`: the team before and after it; undefined when there is none in `scope`. */
  updateTeam(orgName: string, name: string, scope: OrgScope, patch: TenantPatch, now: Date): Promise<Change<TeamRecord> | undefined>;
  /**
   * Deletes a team with no active keys and no live guardrail policy or prompt template attached to
   * it or to one of its keys, together with its revoked and expired keys (a key cannot outlive its
   * team); `deleted` is the team as it was. `now` decides which keys have expired. An attachment
   * in the way comes back as the {@link AttachedPolicies} or {@link AttachedTemplates} naming it.
   */
  deleteTeam(
    orgName: string,
    name: string,
    scope: OrgScope,
    now: Date,
  ): Promise<{ deleted: TeamRecord } | "not_found" | "has_active_keys" | AttachedPolicies | AttachedTemplates>;
}

type Db = Kysely<Database> | Transaction<Database>;

/** Creates the {@link TenantStore} over `db`. */
export function createTenantStore(db: Kysely<Database>): TenantStore {
  const orgs = (q: Db, scope: OrgScope) => {
    const orgId = scopedOrgId(scope);
    return q
      .selectFrom("orgs")
      .select(["id", "name", "display_name", "labels", "created_at", "updated_at"])
      .$if(orgId !== undefined, (qb) => qb.where("id", "=", orgId!));
  };
  const teams = (q: Db, scope: OrgScope) => {
    const orgId = scopedOrgId(scope);
    return q
      .selectFrom("teams")
      .innerJoin("orgs", "orgs.id", "teams.org_id")
      .select([
        "teams.id",
        "teams.org_id",
        "orgs.name as org_name",
        "teams.name",
        "teams.display_name",
        "teams.labels",
        "teams.created_at",
        "teams.updated_at",
      ])
      .$if(orgId !== undefined, (qb) => qb.where("teams.org_id", "=", orgId!));
  };
  // Read in the caller's scope, also the repeat of an idempotent create: it sees only what the
  // first call could.
  const teamById = async (q: Db, id: string, scope: OrgScope) => mapOptional(await teams(q, scope).where("teams.id", "=", id).executeTakeFirst(), toTeam);
  const getTeamIn = (q: Db, orgName: string, name: string, scope: OrgScope) =>
    teams(q, scope).where("orgs.name", "=", orgName).where("teams.name", "=", name).executeTakeFirst();
  // The org or team, locked until the transaction ends (see lockedChange).
  const lockOrg = async (tx: Transaction<Database>, name: string, scope: OrgScope) =>
    mapOptional(await orgs(tx, scope).where("name", "=", name).forUpdate().executeTakeFirst(), toOrg);
  const lockTeam = async (tx: Transaction<Database>, orgName: string, name: string, scope: OrgScope) =>
    mapOptional(await teams(tx, scope).where("orgs.name", "=", orgName).where("teams.name", "=", name).forUpdate(["teams"]).executeTakeFirst(), toTeam);

  return {
    async createOrg(name, fields, key) {
      return runIdempotent<OrgRecord, { kind: "exists" }>(
        db,
        key,
        async (tx) => {
          const id = newId("org");
          const row = await tx
            .insertInto("orgs")
            .values({ id, name, display_name: fields.displayName, labels: JSON.stringify(fields.labels) })
            .onConflict((oc) => oc.column("name").doNothing())
            .returning(["id", "name", "display_name", "labels", "created_at", "updated_at"])
            .executeTakeFirst();
          return row ? { kind: "created" as const, record: toOrg(row), id } : { kind: "exists" as const };
        },
        async (tx, id) => mapOptional(await orgs(tx, { allOrgs: true }).where("id", "=", id).executeTakeFirst(), toOrg),
      );
    },

    async getOrg(name, scope) {
      return mapOptional(await orgs(db, scope).where("name", "=", name).executeTakeFirst(), toOrg);
    },

    async listOrgs(scope, page) {
      const rows = await orgs(db, scope)
        .$if(page.after !== undefined, (qb) => qb.where("id", ">", page.after!))
        .orderBy("id")
        .limit(page.limit + 1)
        .execute();
      return toPage(rows, page.limit, toOrg);
    },

    async updateOrg(name, scope, patch, now) {
      const change = await lockedChange(db, (tx) => lockOrg(tx, name, scope), async (tx, current) => {
        const row = await tx
          .updateTable("orgs")
          .set({ ...patchColumns(patch), updated_at: now })
          .where("id", "=", current.id)
          .returning(["id", "name", "display_name", "labels", "created_at", "updated_at"])
          .executeTakeFirstOrThrow();
        return toOrg(row);
      });
      return change && { before: change.before, after: change.made };
    },

    async deleteOrg(name, scope) {
      // FOR UPDATE conflicts with the key-share lock a concurrent team insert takes on the org,
      // and with the one a guardrail policy or prompt template write takes on what it attaches to.
      const change = await lockedChange(db, (tx) => lockOrg(tx, name, scope), async (tx, org) => {
        const team = await tx.selectFrom("teams").select("id").where("org_id", "=", org.id).limit(1).executeTakeFirst();
        if (team !== undefined) return "has_teams";
        // Routes, budgets and rate limits reference the org without cascading: live ones must be
        // deleted first; soft-deleted ones (kept only for the replicas' revision polls) go with it.
        for (const table of ["routes", "budgets", "rate_limits"] as const) {
          const live = await tx.selectFrom(table).select("id").where("org_id", "=", org.id).where("deleted_at", "is", null).limit(1).executeTakeFirst();
          if (live !== undefined) return "has_limits_or_routes";
        }
        // A global policy naming the org (or one of its routes) would outlive it and not apply to
        // an org re-created under the name; the org's own policies go with it.
        const attached = await policiesAttachedTo(tx, `orgs/${name}`, org.id);
        if (attached !== undefined) return attached;
        // A global template naming the org would govern the calls of the next org given the name
        // (templates match by name); the org's own templates go with it.
        const templates = await templatesAttachedTo(tx, `orgs/${name}`, org.id);
        if (templates !== undefined) return templates;
        // Rows removed for good are counted, so the replicas' change markers (which read the count
        // and the sum of revisions) still move when a late-committing write offsets them (0014).
        const removed = async (table: "routes" | "budgets" | "rate_limits" | "prompt_templates" | "guardrail_policies") =>
          (await tx.deleteFrom(table).where("org_id", "=", org.id).executeTakeFirst()).numDeletedRows;
        await countRemoval(tx, "routes", await removed("routes"));
        await countRemoval(tx, "limits", (await removed("budgets")) + (await removed("rate_limits")));
        // The org's own templates (with their versions) and policies would go with it by cascade.
        await countRemoval(tx, "prompt_templates", await removed("prompt_templates"));
        await countRemoval(tx, "guardrail_policies", await removed("guardrail_policies"));
        await tx.deleteFrom("orgs").where("id", "=", org.id).execute();
        return { deleted: org };
      });
      return change?.made ?? "not_found";
    },

    async createTeam(orgName, name, scope, fields, key) {
      return runIdempotent<TeamRecord, { kind: "exists" } | { kind: "org_not_found" }>(
        db,
        key,
        async (tx) => {
          const org = await orgs(tx, scope).where("name", "=", orgName).executeTakeFirst();
          if (org === undefined) return { kind: "org_not_found" as const };
          const id = newId("team");
          const inserted = await tx
            .insertInto("teams")
            .values({ id, org_id: org.id, name, display_name: fields.displayName, labels: JSON.stringify(fields.labels) })
            .onConflict((oc) => oc.columns(["org_id", "name"]).doNothing())
            .returning("id")
            .executeTakeFirst();
          if (inserted === undefined) return { kind: "exists" as const };
          return { kind: "created" as const, record: (await teamById(tx, id, scope))!, id };
        },
        (tx, id) => teamById(tx, id, scope),
      );
    },

    async getTeam(orgName, name, scope) {
      return mapOptional(await getTeamIn(db, orgName, name, scope), toTeam);
    },

    async listTeams(orgName, scope, page) {
      const org = await orgs(db, scope).where("name", "=", orgName).executeTakeFirst();
      if (org === undefined) return undefined;
      const rows = await teams(db, scope)
        .where("teams.org_id", "=", org.id)
        .$if(page.after !== undefined, (qb) => qb.where("teams.id", ">", page.after!))
        .orderBy("teams.id")
        .limit(page.limit + 1)
        .execute();
      return toPage(rows, page.limit, toTeam);
    },

    async updateTeam(orgName, name, scope, patch, now) {
      const change = await lockedChange(db, (tx) => lockTeam(tx, orgName, name, scope), async (tx, team) => {
        await tx
          .updateTable("teams")
          .set({ ...patchColumns(patch), updated_at: now })
          .where("id", "=", team.id)
          .execute();
        return (await teamById(tx, team.id, scope))!;
      });
      return change && { before: change.before, after: change.made };
    },

    async deleteTeam(orgName, name, scope, now) {
      // FOR UPDATE conflicts with the key-share lock a concurrent key insert takes on the team,
      // and with the one a guardrail policy or prompt template write takes on what it attaches to.
      const change = await lockedChange(db, (tx) => lockTeam(tx, orgName, name, scope), async (tx, team) => {
        const active = await tx
          .selectFrom("keys")
          .select("id")
          .where("team_id", "=", team.id)
          .where("state", "=", "active")
          .where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", now)]))
          .limit(1)
          .executeTakeFirst();
        if (active !== undefined) return "has_active_keys";
        // A policy naming the team or one of its keys would outlive them and not apply to a team
        // re-created under the name.
        const attached = await policiesAttachedTo(tx, `orgs/${orgName}/teams/${name}`);
        if (attached !== undefined) return attached;
        // A template naming the team or one of its keys would govern a team (or key) re-created
        // under the name: templates match by name.
        const templates = await templatesAttachedTo(tx, `orgs/${orgName}/teams/${name}`);
        if (templates !== undefined) return templates;
        // Only revoked and expired keys are left to go with the team: a delete never takes away a
        // platform-admin key anyone can still use (platform-admin-keys.ts).
        await tx.deleteFrom("keys").where("team_id", "=", team.id).execute();
        await tx.deleteFrom("teams").where("id", "=", team.id).execute();
        return { deleted: team };
      });
      return change?.made ?? "not_found";
    },
  };
}

function patchColumns(patch: TenantPatch): { display_name?: string; labels?: string } {
  return {
    ...(patch.displayName !== undefined ? { display_name: patch.displayName } : {}),
    ...(patch.labels !== undefined ? { labels: JSON.stringify(patch.labels) } : {}),
  };
}

function mapOptional<Row, T>(row: Row | undefined, map: (row: Row) => T): T | undefined {
  return row === undefined ? undefined : map(row);
}

interface OrgRow {
  id: string;
  name: string;
  display_name: string;
  labels: Record<string, string>;
  created_at: Date;
  updated_at: Date;
}

function toOrg(row: OrgRow): OrgRecord {
  return {
    id: row.id,
    name: row.name,
    displayName: row.display_name,
    labels: row.labels,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toTeam(row: OrgRow & { org_id: string; org_name: string }): TeamRecord {
  return { ...toOrg(row), orgId: row.org_id, orgName: row.org_name };
}
