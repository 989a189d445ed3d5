import { sql, type Kysely, type Selectable, type Transaction } from "kysely";
import { lockCredentialUse, routesUsing, type RouteRef } from "./credential-use.js";
import { lockedChange, type Change } from "./locked-change.js";
import { runIdempotent, type IdempotencyKey, type IdempotentOutcome } from "./idempotent.js";
import { toPage, type Page, type PageRequest } from "./paging.js";
import type { CredentialsTable, Database } from "./schema.js";

/** The encrypted columns of a credential, exactly as stored (see `server/vault/envelope.ts`). */
export interface StoredSeal {
  masterKeyId: string;
  wrappedKey: Buffer;
  keyNonce: Buffer;
  ciphertext: Buffer;
  valueNonce: Buffer;
}

/** The metadata of a credential: everything the API may show. */
export interface CredentialFields {
  provider: string;
  displayName: string;
  settings: Record<string, string>;
}

/** What describes a stored value without revealing it. */
export interface ValueFacts {
  fingerprint: string;
  lastFour: string;
}

/** A credential as stored. `seal` is ciphertext: only the vault opens it, nothing returns it. */
export interface CredentialRecord extends CredentialFields, ValueFacts {
  id: string;
  orgId: string | null;
  /** The owning org's resource-name segment; null for a global credential. */
  orgName: string | null;
  name: string;
  /** The value's version, bound into its ciphertext; bumped whenever the value is replaced. */
  version: number;
  seal: StoredSeal;
  createdAt: Date;
  updatedAt: Date;
}

/** A new credential, sealed for its id by the caller. */
export interface NewCredential extends CredentialFields, ValueFacts {
  id: string;
  orgId: string | null;
  name: string;
  seal: StoredSeal;
}

/** A change to a credential; `value` replaces the value (sealed for `version`). */
export interface CredentialPatch {
  displayName?: string;
  settings?: Record<string, string>;
  value?: ValueFacts & { version: number; seal: StoredSeal };
}

/** Persistence of credentials (migration 0004). Holds no policy and never sees a plaintext value. */
export interface CredentialStore {
  create(credential: NewCredential, key?: IdempotencyKey): Promise<IdempotentOutcome<CredentialRecord, { kind: "exists" }>>;
  /** The credential `name` of org `orgId` (null: global). */
  get(orgId: string | null, name: string): Promise<CredentialRecord | undefined>;
  /** The credential by resource-name segments (org name null: global): the vault's lookup. */
  find(orgName: string | null, name: string): Promise<CredentialRecord | undefined>;
  list(orgId: string | null, page: PageRequest): Promise<Page<CredentialRecord>>;
  /**
   * Applies `patch` if the row still has `expectedVersion`: the row it replaced and the row it
   * made; `conflict` when it changed meanwhile, undefined when there is none.
   */
  update(id: string, expectedVersion: number, patch: CredentialPatch, now: Date): Promise<Change<CredentialRecord> | "conflict" | undefined>;
  /**
   * Deletes a credential unless a live route names it by `name` (its resource name): the row it
   * deleted, as it was; `usedBy` (nothing deleted) the routes naming it; undefined when none.
   * Atomic with route writes naming it (see credential-use.ts).
   */
  delete(id: string, name: string): Promise<{ deleted: CredentialRecord } | { usedBy: RouteRef[] } | undefined>;
  /** A page of credentials (every org) whose data key is wrapped by a key other than `masterKeyId`. */
  listWrappedByOther(masterKeyId: string, page: PageRequest): Promise<Page<CredentialRecord>>;
  /**
   * Replaces a row's wrapped data key if the row still has `version` and `fromKeyId` (a concurrent
   * value change already wrote a fresh one); false otherwise.
   */
  replaceWrap(id: string, version: number, fromKeyId: string, seal: Pick<StoredSeal, "masterKeyId" | "wrappedKey" | "keyNonce">): Promise<boolean>;
  /** How many credentials each master key wraps. */
  countByMasterKey(): Promise<Array<{ masterKeyId: string; count: number }>>;
}

/** Creates the {@link CredentialStore} over `db`. */
export function createCredentialStore(db: Kysely<Database>): CredentialStore {
  const rows = (q: Kysely<Database> | Transaction<Database>) =>
    q.selectFrom("credentials").leftJoin("orgs", "orgs.id", "credentials.org_id").selectAll("credentials").select("orgs.name as org_name");
  // The row, locked until the transaction ends (see lockedChange).
  const lockById = async (tx: Transaction<Database>, id: string) => {
    const row = await rows(tx).where("credentials.id", "=", id).forUpdate(["credentials"]).executeTakeFirst();
    return row && toRecord(row);
  };
  const inScope = (orgId: string | null) =>
    rows(db).where((eb) => (orgId === null ? eb("credentials.org_id", "is", null) : eb("credentials.org_id", "=", orgId)));

  return {
    async create(credential, key) {
      return runIdempotent<CredentialRecord, { kind: "exists" }>(
        db,
        key,
        async (tx) => {
          const inserted = await tx
            .insertInto("credentials")
            .values({
              id: credential.id,
              org_id: credential.orgId,
              name: credential.name,
              provider: credential.provider,
              display_name: credential.displayName,
              settings: JSON.stringify(credential.settings),
              fingerprint: credential.fingerprint,
              last_four: credential.lastFour,
              version: 1,
              ...sealColumns(credential.seal),
            })
            .onConflict((oc) => oc.expression(sql`coalesce(org_id, ''), name`).doNothing())
            .returning("id")
            .executeTakeFirst();
          if (inserted === undefined) return { kind: "exists" as const };
          const record = toRecord(await rows(tx).where("credentials.id", "=", credential.id).executeTakeFirstOrThrow());
          return { kind: "created" as const, record, id: credential.id };
        },
        async (tx, id) => {
          const row = await rows(tx).where("credentials.id", "=", id).executeTakeFirst();
          return row && toRecord(row);
        },
      );
    },
    async get(orgId, name) {
      const row = await inScope(orgId).where("credentials.name", "=", name).executeTakeFirst();
      return row && toRecord(row);
    },
    async find(orgName, name) {
      const row = await rows(db)
        .where("credentials.name", "=", name)
        .where((eb) => (orgName === null ? eb("credentials.org_id", "is", null) : eb("orgs.name", "=", orgName)))
        .executeTakeFirst();
      return row && toRecord(row);
    },
    async list(orgId, page) {
      const found = await inScope(orgId)
        .$if(page.after !== undefined, (qb) => qb.where("credentials.id", ">", page.after!))
        .orderBy("credentials.id")
        .limit(page.limit + 1)
        .execute();
      return toPage(found, page.limit, toRecord);
    },
    async update(id, expectedVersion, patch, now) {
      const change = await lockedChange(db, (tx) => lockById(tx, id), async (tx, current) => {
        if (current.version !== expectedVersion) return "conflict" as const;
        await tx
          .updateTable("credentials")
          .set({
            ...(patch.displayName !== undefined ? { display_name: patch.displayName } : {}),
            ...(patch.settings !== undefined ? { settings: JSON.stringify(patch.settings) } : {}),
            ...(patch.value !== undefined
              ? { fingerprint: patch.value.fingerprint, last_four: patch.value.lastFour, version: patch.value.version, ...sealColumns(patch.value.seal) }
              : {}),
            updated_at: now,
          })
          .where("id", "=", id)
          .execute();
        return toRecord(await rows(tx).where("credentials.id", "=", id).executeTakeFirstOrThrow());
      });
      if (change === undefined) return undefined;
      const { before, made } = change;
      return made === "conflict" ? made : { before, after: made };
    },
    async delete(id, name) {
      const change = await lockedChange(db, (tx) => lockById(tx, id), async (tx) => {
        await lockCredentialUse(tx, [name], "exclusive");
        const usedBy = await routesUsing(tx, name);
        if (usedBy.length > 0) return usedBy;
        await tx.deleteFrom("credentials").where("id", "=", id).execute();
        return undefined;
      });
      if (change === undefined) return undefined;
      return change.made === undefined ? { deleted: change.before } : { usedBy: change.made };
    },
    async listWrappedByOther(masterKeyId, page) {
      const found = await rows(db)
        .where("credentials.master_key_id", "<>", masterKeyId)
        .$if(page.after !== undefined, (qb) => qb.where("credentials.id", ">", page.after!))
        .orderBy("credentials.id")
        .limit(page.limit + 1)
        .execute();
      return toPage(found, page.limit, toRecord);
    },
    async replaceWrap(id, version, fromKeyId, seal) {
      const updated = await db
        .updateTable("credentials")
        .set({ master_key_id: seal.masterKeyId, wrapped_key: seal.wrappedKey, key_nonce: seal.keyNonce })
        .where("id", "=", id)
        .where("version", "=", version)
        .where("master_key_id", "=", fromKeyId)
        .returning("id")
        .executeTakeFirst();
      return updated !== undefined;
    },
    async countByMasterKey() {
      const found = await db
        .selectFrom("credentials")
        .select(["master_key_id", (eb) => eb.fn.countAll<bigint>().as("count")])
        .groupBy("master_key_id")
        .orderBy("master_key_id")
        .execute();
      return found.map((r) => ({ masterKeyId: r.master_key_id, count: Number(r.count) }));
    },
  };
}

function sealColumns(seal: StoredSeal) {
  return {
    master_key_id: seal.masterKeyId,
    wrapped_key: seal.wrappedKey,
    key_nonce: seal.keyNonce,
    ciphertext: seal.ciphertext,
    value_nonce: seal.valueNonce,
  };
}

function toRecord(row: Selectable<CredentialsTable> & { org_name: string | null }): CredentialRecord {
  return {
    id: row.id,
    orgId: row.org_id,
    orgName: row.org_name,
    name: row.name,
    provider: row.provider,
    displayName: row.display_name,
    settings: { ...(row.settings as Record<string, string>) },
    fingerprint: row.fingerprint,
    lastFour: row.last_four,
    version: Number(row.version),
    seal: {
      masterKeyId: row.master_key_id,
      wrappedKey: Buffer.from(row.wrapped_key),
      keyNonce: Buffer.from(row.key_nonce),
      ciphertext: Buffer.from(row.ciphertext),
      valueNonce: Buffer.from(row.value_nonce),
    },
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
