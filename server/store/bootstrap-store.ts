import { sql, type Kysely, type Transaction } from "kysely";
import { newId } from "./ids.js";
import type { KeyFields, StoredSecret } from "./key-store.js";
import { anyUnexpiredPlatformAdminKey } from "./platform-admin-keys.js";
import type { Database } from "./schema.js";

/**
 * Transaction-level advisory-lock key held while deciding whether to bootstrap. It spells
 * "SWBDBOOT" in ASCII, so it is recognisable in `pg_locks` and distinct from the migration lock.
 */
export const BOOTSTRAP_LOCK_KEY = 0x53574244424f4f54n;

/** The first admin key and the org and team it lives in, by resource-name segment. */
export interface BootstrapKey {
  orgName: string;
  orgDisplayName: string;
  teamName: string;
  teamDisplayName: string;
  keyName: string;
  fields: KeyFields;
  secret: StoredSecret;
}

/** What {@link BootstrapStore.recoverIfNoAdminKey} did. */
export type RecoveryOutcome =
  /** Stored, and audited in the same transaction. */
  | "recovered"
  /** An active, unexpired platform-admin key exists: nothing was written. */
  | "admin_key_exists"
  /** No admin key is left, but a key (revoked, expired or not an admin) holds this secret: nothing was written. */
  | "secret_in_use";

/** Repository for the writes the gateway makes on its own at start. */
export interface BootstrapStore {
  /**
   * Stores `key` (creating its org and team when missing) if and only if the database holds no
   * key at all, and tells whether it did. Replicas starting together serialize on
   * {@link BOOTSTRAP_LOCK_KEY} inside one transaction, so exactly one of them creates it.
   */
  createIfNoKeys(key: BootstrapKey): Promise<boolean>;
  /**
   * The break-glass: stores `key` (creating its org and team when missing) if the database holds
   * no active platform-admin key unexpired at `now`, and no key with its secret, current or
   * previous; `audit(tx)` records it in the same transaction. Serialized on
   * {@link BOOTSTRAP_LOCK_KEY} like {@link createIfNoKeys}, so replicas starting together store one.
   */
  recoverIfNoAdminKey(key: BootstrapKey, now: Date, audit: (tx: Transaction<Database>) => Promise<unknown>): Promise<RecoveryOutcome>;
  /** Whether the database holds any key at all, in any state: whether a pepper was ever used on it. */
  holdsAnyKey(): Promise<boolean>;
}

/** Creates the {@link BootstrapStore} over `db`. */
export function createBootstrapStore(db: Kysely<Database>): BootstrapStore {
  return {
    async createIfNoKeys(key) {
      return db.transaction().execute(async (tx) => {
        await sql`select pg_advisory_xact_lock(${sql.lit(BOOTSTRAP_LOCK_KEY)})`.execute(tx);
        const any = await tx.selectFrom("keys").select("id").limit(1).executeTakeFirst();
        if (any !== undefined) return false;
        await insertKey(tx, key);
        return true;
      });
    },

    async recoverIfNoAdminKey(key, now, audit) {
      return db.transaction().execute(async (tx) => {
        await sql`select pg_advisory_xact_lock(${sql.lit(BOOTSTRAP_LOCK_KEY)})`.execute(tx);
        if (await anyUnexpiredPlatformAdminKey(tx, now)) return "admin_key_exists";
        // A secret once stored stays what it was: one revoked (leaked, perhaps) or expired is not
        // brought back to life by finding it still set in the environment.
        const hmac = key.secret.secretHmac;
        const holder = await tx
          .selectFrom("keys")
          .select("id")
          .where((eb) => eb.or([eb("secret_hmac", "=", hmac), eb("previous_secret_hmac", "=", hmac)]))
          .executeTakeFirst();
        if (holder !== undefined) return "secret_in_use";
        await insertKey(tx, key);
        await audit(tx);
        return "recovered";
      });
    },

    async holdsAnyKey() {
      return (await db.selectFrom("keys").select("id").limit(1).executeTakeFirst()) !== undefined;
    },
  };
}

/** Inserts `key`, and its org and team when missing. */
async function insertKey(tx: Transaction<Database>, key: BootstrapKey): Promise<void> {
  await tx
    .insertInto("orgs")
    .values({ id: newId("org"), name: key.orgName, display_name: key.orgDisplayName, labels: "{}" })
    .onConflict((oc) => oc.column("name").doNothing())
    .execute();
  const org = await tx.selectFrom("orgs").select("id").where("name", "=", key.orgName).executeTakeFirstOrThrow();
  await tx
    .insertInto("teams")
    .values({ id: newId("team"), org_id: org.id, name: key.teamName, display_name: key.teamDisplayName, labels: "{}" })
    .onConflict((oc) => oc.columns(["org_id", "name"]).doNothing())
    .execute();
  const team = await tx.selectFrom("teams").select("id").where("org_id", "=", org.id).where("name", "=", key.teamName).executeTakeFirstOrThrow();
  await tx
    .insertInto("keys")
    .values({
      id: newId("key"),
      org_id: org.id,
      team_id: team.id,
      name: key.keyName,
      display_name: key.fields.displayName,
      display_prefix: key.secret.displayPrefix,
      secret_hmac: key.secret.secretHmac,
      scopes: JSON.stringify(key.fields.scopes),
      allowed_routes: JSON.stringify(key.fields.allowedRoutes),
      allowed_models: JSON.stringify(key.fields.allowedModels),
      tags: JSON.stringify(key.fields.tags),
      expires_at: key.fields.expiresAt,
    })
    .execute();
}
