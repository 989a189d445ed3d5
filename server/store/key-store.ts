import type { Kysely, Transaction } from "kysely";
import { newId } from "./ids.js";
import { lockedChange, type Change } from "./locked-change.js";
import { runIdempotent, type IdempotencyKey, type IdempotentOutcome } from "./idempotent.js";
import { scopedOrgId, toPage, type OrgScope, type Page, type PageRequest } from "./paging.js";
import { leavesNoWayIn } from "./platform-admin-keys.js";
import type { Database } from "./schema.js";

/** A virtual key as stored, without its hashes. */
export interface KeyRecord {
  /** Internal id (`key_…`). */
  id: string;
  orgId: string;
  teamId: string;
  orgName: string;
  teamName: string;
  /** Resource-name segment: `orgs/{orgName}/teams/{teamName}/keys/{name}`. */
  name: string;
  displayName: string;
  displayPrefix: string;
  /** Scope enum names, e.g. `SCOPE_INVOKE`. */
  scopes: string[];
  allowedRoutes: string[];
  allowedModels: string[];
  tags: Record<string, string>;
  expiresAt: Date | null;
  state: "active" | "revoked";
  createdAt: Date;
  updatedAt: Date;
  revokedAt: Date | null;
  previousSecretExpiresAt: Date | null;
  lastUsedAt: Date | null;
}

/** A key with the HMACs it authenticates with: only the authenticator reads this. */
export interface KeyCredentialRecord extends KeyRecord {
  secretHmac: string;
  previousSecretHmac: string | null;
}

/** Names a key by its resource-name segments. */
export interface KeyRef {
  orgName: string;
  teamName: string;
  name: string;
}

/** The settable fields of a key. */
export interface KeyFields {
  displayName: string;
  scopes: string[];
  allowedRoutes: string[];
  allowedModels: string[];
  tags: Record<string, string>;
  expiresAt: Date | null;
}

/** What is stored of a freshly generated secret. */
export interface StoredSecret {
  /** `HMAC-SHA-256(pepper, secret)`, lowercase hex. */
  secretHmac: string;
  displayPrefix: string;
}

/** Options of {@link KeyStore.listKeys}. */
export interface KeyListFilter {
  /** Include revoked keys and keys past `expiresAt`. */
  includeInactive: boolean;
  /** Decides which keys have expired. */
  now: Date;
}

/**
 * The caller's judgement of the key a write is about to change, made on the key exactly as the
 * write replaces it (read with its row locked, in the write's transaction: see lockedChange):
 * throws to refuse, and nothing is written. Judged on an earlier read, a change committed in
 * between (a stronger admin raising the key's scopes) would go unseen.
 */
export type KeyGuard = (current: KeyRecord) => void;

/** Repository of virtual keys. Every method but the two the authenticator uses takes an {@link OrgScope}. */
export interface KeyStore {
  /** The key whose current or previous secret has this HMAC, whatever its state (the caller decides). */
  findBySecretHmac(secretHmac: string): Promise<KeyCredentialRecord | undefined>;
  /** Records use, skipped when the stored time is less than `minIntervalMs` older than `at`. */
  touchLastUsed(keyId: string, at: Date, minIntervalMs: number): Promise<void>;
  createKey(
    team: { orgName: string; teamName: string },
    name: string,
    scope: OrgScope,
    fields: KeyFields,
    secret: StoredSecret,
    key?: IdempotencyKey,
  ): Promise<IdempotentOutcome<KeyRecord, { kind: "team_not_found" } | { kind: "exists" }>>;
  getKey(ref: KeyRef, scope: OrgScope): Promise<KeyRecord | undefined>;
  /** A page of a team's keys (`teamName` set) or an org's; `undefined` when that parent is not in `scope`. */
  listKeys(
    parent: { orgName: string; teamName?: string },
    scope: OrgScope,
    page: PageRequest,
    filter: KeyListFilter,
  ): Promise<Page<KeyRecord> | undefined>;
  /**
   * Applies `patch` if `guard` allows: the key before and after it; undefined when there is none;
   * `last_platform_admin` (nothing written) when that would take away the last way in for an admin
   * (see {@link leavesNoWayIn}).
   */
  updateKey(ref: KeyRef, scope: OrgScope, patch: Partial<KeyFields>, now: Date, guard?: KeyGuard): Promise<Change<KeyRecord> | undefined | "last_platform_admin">;
  /**
   * Revokes a key (a no-op on a revoked one) and ends any rotation grace, if `guard` allows: the
   * key before and after; `last_platform_admin` (nothing written) when it is the last way in for
   * an admin.
   */
  revokeKey(ref: KeyRef, scope: OrgScope, now: Date, guard?: KeyGuard): Promise<Change<KeyRecord> | undefined | "last_platform_admin">;
  /**
   * Replaces the secret if `guard` allows: the key before and after. With `graceUntil`, the
   * replaced secret keeps working until then (any earlier previous secret stops at once: one
   * secret in grace at a time); without, it stops now. A repeat changes nothing (and is not
   * judged again): the key as it is now, before and after.
   */
  rotateKey(
    ref: KeyRef,
    scope: OrgScope,
    rotation: { secret: StoredSecret; graceUntil: Date | null; now: Date },
    key?: IdempotencyKey,
    guard?: KeyGuard,
  ): Promise<IdempotentOutcome<Change<KeyRecord>, { kind: "not_found" } | { kind: "revoked" }>>;
}

type Db = Kysely<Database> | Transaction<Database>;

const KEY_COLUMNS = [
  "keys.id",
  "keys.org_id",
  "keys.team_id",
  "orgs.name as org_name",
  "teams.name as team_name",
  "keys.name",
  "keys.display_name",
  "keys.display_prefix",
  "keys.scopes",
  "keys.allowed_routes",
  "keys.allowed_models",
  "keys.tags",
  "keys.expires_at",
  "keys.state",
  "keys.created_at",
  "keys.updated_at",
  "keys.revoked_at",
  "keys.previous_secret_expires_at",
  "keys.last_used_at",
] as const;

/** Creates the {@link KeyStore} over `db`. */
export function createKeyStore(db: Kysely<Database>): KeyStore {
  const keys = (q: Db, scope: OrgScope) => {
    const orgId = scopedOrgId(scope);
    return q
      .selectFrom("keys")
      .innerJoin("teams", "teams.id", "keys.team_id")
      .innerJoin("orgs", "orgs.id", "keys.org_id")
      .select(KEY_COLUMNS)
      .$if(orgId !== undefined, (qb) => qb.where("keys.org_id", "=", orgId!));
  };
  const byRef = (q: Db, ref: KeyRef, scope: OrgScope) =>
    keys(q, scope).where("orgs.name", "=", ref.orgName).where("teams.name", "=", ref.teamName).where("keys.name", "=", ref.name);
  // The key with its secret's HMAC, locked until the transaction ends (see lockedChange).
  const lockByRef = (tx: Transaction<Database>, ref: KeyRef, scope: OrgScope) => byRef(tx, ref, scope).select("keys.secret_hmac").forUpdate(["keys"]).executeTakeFirst();
  // Read in the caller's scope, also the repeat of an idempotent create: it sees only what the
  // first call could.
  const byId = async (q: Db, id: string, scope: OrgScope) => mapOptional(await keys(q, scope).where("keys.id", "=", id).executeTakeFirst(), toKey);

  return {
    async findBySecretHmac(secretHmac) {
      const row = await keys(db, { allOrgs: true })
        .select(["keys.secret_hmac", "keys.previous_secret_hmac"])
        .where((eb) => eb.or([eb("keys.secret_hmac", "=", secretHmac), eb("keys.previous_secret_hmac", "=", secretHmac)]))
        .executeTakeFirst();
      if (row === undefined) return undefined;
      return { ...toKey(row), secretHmac: row.secret_hmac, previousSecretHmac: row.previous_secret_hmac };
    },

    async touchLastUsed(keyId, at, minIntervalMs) {
      await db
        .updateTable("keys")
        .set({ last_used_at: at })
        .where("id", "=", keyId)
        .where((eb) => eb.or([eb("last_used_at", "is", null), eb("last_used_at", "<=", new Date(at.getTime() - minIntervalMs))]))
        .execute();
    },

    async createKey(team, name, scope, fields, secret, key) {
      return runIdempotent<KeyRecord, { kind: "team_not_found" } | { kind: "exists" }>(
        db,
        key,
        async (tx) => {
          const orgId = scopedOrgId(scope);
          const parent = await tx
            .selectFrom("teams")
            .innerJoin("orgs", "orgs.id", "teams.org_id")
            .select(["teams.id", "teams.org_id"])
            .where("orgs.name", "=", team.orgName)
            .where("teams.name", "=", team.teamName)
            .$if(orgId !== undefined, (qb) => qb.where("teams.org_id", "=", orgId!))
            .executeTakeFirst();
          if (parent === undefined) return { kind: "team_not_found" as const };
          const id = newId("key");
          const inserted = await tx
            .insertInto("keys")
            .values({
              id,
              org_id: parent.org_id,
              team_id: parent.id,
              name,
              secret_hmac: secret.secretHmac,
              display_prefix: secret.displayPrefix,
              ...fieldColumns(fields),
            })
            .onConflict((oc) => oc.columns(["team_id", "name"]).doNothing())
            .returning("id")
            .executeTakeFirst();
          if (inserted === undefined) return { kind: "exists" as const };
          return { kind: "created" as const, record: (await byId(tx, id, scope))!, id };
        },
        (tx, id) => byId(tx, id, scope),
      );
    },

    async getKey(ref, scope) {
      return mapOptional(await byRef(db, ref, scope).executeTakeFirst(), toKey);
    },

    async listKeys(parent, scope, page, filter) {
      const orgId = scopedOrgId(scope);
      const owner = await db
        .selectFrom("orgs")
        .leftJoin("teams", (join) => join.onRef("teams.org_id", "=", "orgs.id").on("teams.name", "=", parent.teamName ?? ""))
        .select(["orgs.id as org_id", "teams.id as team_id"])
        .where("orgs.name", "=", parent.orgName)
        .$if(orgId !== undefined, (qb) => qb.where("orgs.id", "=", orgId!))
        .executeTakeFirst();
      if (owner === undefined || (parent.teamName !== undefined && owner.team_id === null)) return undefined;
      const rows = await keys(db, scope)
        .where("keys.org_id", "=", owner.org_id)
        .$if(owner.team_id !== null, (qb) => qb.where("keys.team_id", "=", owner.team_id!))
        .$if(!filter.includeInactive, (qb) =>
          qb
            .where("keys.state", "=", "active")
            .where((eb) => eb.or([eb("keys.expires_at", "is", null), eb("keys.expires_at", ">", filter.now)])),
        )
        .$if(page.after !== undefined, (qb) => qb.where("keys.id", ">", page.after!))
        .orderBy("keys.id")
        .limit(page.limit + 1)
        .execute();
      return toPage(rows, page.limit, toKey);
    },

    async updateKey(ref, scope, patch, now, guard) {
      const change = await lockedChange(db, (tx) => lockByRef(tx, ref, scope), async (tx, current) => {
        guard?.(toKey(current));
        // The row is locked: `before` stays what this update replaces until it commits (leavesNoWayIn).
        const before = { ...current, expiresAt: current.expires_at };
        const after = {
          ...before,
          ...(patch.scopes !== undefined ? { scopes: patch.scopes } : {}),
          ...(patch.expiresAt !== undefined ? { expiresAt: patch.expiresAt } : {}),
        };
        if (await leavesNoWayIn(tx, current.id, before, after, now)) return "last_platform_admin" as const;
        await tx
          .updateTable("keys")
          .set({ ...fieldColumns(patch), updated_at: now })
          .where("id", "=", current.id)
          .execute();
        return (await byId(tx, current.id, scope))!;
      });
      return refusedOr(change);
    },

    async revokeKey(ref, scope, now, guard) {
      const change = await lockedChange(db, (tx) => lockByRef(tx, ref, scope), async (tx, current) => {
        guard?.(toKey(current));
        const before = { ...current, expiresAt: current.expires_at };
        if (await leavesNoWayIn(tx, current.id, before, { ...before, state: "revoked" as const }, now)) return "last_platform_admin" as const;
        await tx
          .updateTable("keys")
          .set({ state: "revoked", revoked_at: now, updated_at: now, previous_secret_hmac: null, previous_secret_expires_at: null })
          .where("id", "=", current.id)
          .where("state", "=", "active")
          .execute();
        return (await byId(tx, current.id, scope))!;
      });
      return refusedOr(change);
    },

    async rotateKey(ref, scope, rotation, key, guard) {
      return runIdempotent<Change<KeyRecord>, { kind: "not_found" } | { kind: "revoked" }>(
        db,
        key,
        async (tx) => {
          const change = await lockedChange(tx, (t) => lockByRef(t, ref, scope), async (t, current) => {
            guard?.(toKey(current));
            if (current.state === "revoked") return undefined;
            const inGrace = rotation.graceUntil !== null && rotation.graceUntil.getTime() > rotation.now.getTime();
            await t
              .updateTable("keys")
              .set({
                secret_hmac: rotation.secret.secretHmac,
                display_prefix: rotation.secret.displayPrefix,
                previous_secret_hmac: inGrace ? current.secret_hmac : null,
                previous_secret_expires_at: inGrace ? rotation.graceUntil : null,
                updated_at: rotation.now,
              })
              .where("id", "=", current.id)
              .execute();
            return (await byId(t, current.id, scope))!;
          });
          if (change === undefined) return { kind: "not_found" as const };
          if (change.made === undefined) return { kind: "revoked" as const };
          return { kind: "created" as const, record: { before: toKey(change.before), after: change.made }, id: change.made.id };
        },
        async (tx, id) => {
          const now = await byId(tx, id, scope);
          return now && { before: now, after: now };
        },
      );
    },
  };
}

function fieldColumns(fields: Partial<KeyFields>) {
  return {
    ...(fields.displayName !== undefined ? { display_name: fields.displayName } : {}),
    ...(fields.scopes !== undefined ? { scopes: JSON.stringify(fields.scopes) } : {}),
    ...(fields.allowedRoutes !== undefined ? { allowed_routes: JSON.stringify(fields.allowedRoutes) } : {}),
    ...(fields.allowedModels !== undefined ? { allowed_models: JSON.stringify(fields.allowedModels) } : {}),
    ...(fields.tags !== undefined ? { tags: JSON.stringify(fields.tags) } : {}),
    ...(fields.expiresAt !== undefined ? { expires_at: fields.expiresAt } : {}),
  };
}

/** What a locked key change answers: undefined (no such key), the refusal, or the change made. */
function refusedOr(change: { before: KeyRow; made: KeyRecord | "last_platform_admin" } | undefined): Change<KeyRecord> | undefined | "last_platform_admin" {
  if (change === undefined) return undefined;
  if (change.made === "last_platform_admin") return change.made;
  return { before: toKey(change.before), after: change.made };
}

function mapOptional<Row, T>(row: Row | undefined, map: (row: Row) => T): T | undefined {
  return row === undefined ? undefined : map(row);
}

interface KeyRow {
  id: string;
  org_id: string;
  team_id: string;
  org_name: string;
  team_name: string;
  name: string;
  display_name: string;
  display_prefix: string;
  scopes: string[];
  allowed_routes: string[];
  allowed_models: string[];
  tags: Record<string, string>;
  expires_at: Date | null;
  state: "active" | "revoked";
  created_at: Date;
  updated_at: Date;
  revoked_at: Date | null;
  previous_secret_expires_at: Date | null;
  last_used_at: Date | null;
}

function toKey(row: KeyRow): KeyRecord {
  return {
    id: row.id,
    orgId: row.org_id,
    teamId: row.team_id,
    orgName: row.org_name,
    teamName: row.team_name,
    name: row.name,
    displayName: row.display_name,
    displayPrefix: row.display_prefix,
    scopes: row.scopes,
    allowedRoutes: row.allowed_routes,
    allowedModels: row.allowed_models,
    tags: row.tags,
    expiresAt: row.expires_at,
    state: row.state,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    revokedAt: row.revoked_at,
    previousSecretExpiresAt: row.previous_secret_expires_at,
    lastUsedAt: row.last_used_at,
  };
}
