import { sql, type Transaction } from "kysely";
import type { KeyFields } from "./key-store.js";
import type { Database } from "./schema.js";

/**
 * Transaction-level advisory-lock key held by every write that can take platform-admin capability
 * away from a key (RevokeKey; UpdateKey of `scopes` or `expire_time`). It spells "SWBDADMN" in
 * ASCII, so it is recognisable in `pg_locks` and distinct from the bootstrap and migration locks.
 */
export const PLATFORM_ADMIN_LOCK_KEY = 0x5357424441444d4en;

/** The stored name of the scope that lets a key administer every org. */
export const PLATFORM_ADMIN_SCOPE = "SCOPE_PLATFORM_ADMIN";

/** What a key is worth as a way in for an admin. */
interface AdminStanding {
  /** Active, holding {@link PLATFORM_ADMIN_SCOPE} and not past its expiry. */
  unexpired: boolean;
  /** The same, and with no expiry at all: a way in that cannot lapse. */
  lasting: boolean;
}

/** The fields of a key that decide its {@link AdminStanding}. */
export type AdminKeyFields = Pick<KeyFields, "scopes" | "expiresAt"> & { state: "active" | "revoked" };

/** A key's {@link AdminStanding} at `now`. */
function standingOf(key: AdminKeyFields, now: Date): AdminStanding {
  const admin = key.state === "active" && key.scopes.includes(PLATFORM_ADMIN_SCOPE);
  return {
    unexpired: admin && (key.expiresAt === null || key.expiresAt.getTime() > now.getTime()),
    lasting: admin && key.expiresAt === null,
  };
}

/**
 * Whether changing the key `keyId` from `before` to `after` would leave the installation without a
 * way in, counted under {@link PLATFORM_ADMIN_LOCK_KEY} (taken here, held until `tx` ends) so that
 * two such changes on any replicas see each other: the second counts after the first committed.
 *
 * The promise is "there is always a way in", and a key that expires is no such way once it
 * lapses. So the rule, the simplest that keeps the promise: a change may not take away the last
 * active platform-admin key without an expiry (revoking it, removing its scope or giving it an
 * `expire_time`), whatever expiring admin keys exist besides. An installation that has none
 * without an expiry (an operator's own doing in the database, or keys from before this rule) may
 * not lose its last unexpired one either; when those lapse on their own, `SWITCHBOARD_BOOTSTRAP_KEY`
 * is the way back in (auth/bootstrap.ts).
 *
 * The caller must hold the key's row lock (`FOR UPDATE`) from before reading `before`, so that
 * `before` is what the change replaces.
 */
export async function leavesNoWayIn(tx: Transaction<Database>, keyId: string, before: AdminKeyFields, after: AdminKeyFields, now: Date): Promise<boolean> {
  const was = standingOf(before, now);
  const will = standingOf(after, now);
  const losesLasting = was.lasting && !will.lasting;
  const losesUnexpired = was.unexpired && !will.unexpired;
  if (!losesLasting && !losesUnexpired) return false;
  await sql`select pg_advisory_xact_lock(${sql.lit(PLATFORM_ADMIN_LOCK_KEY)})`.execute(tx);
  const others = await tx
    .selectFrom("keys")
    .select([
      sql<number>`(count(*) filter (where expires_at is null))::int`.as("lasting"),
      sql<number>`(count(*) filter (where expires_at is null or expires_at > ${now}))::int`.as("unexpired"),
    ])
    .where("id", "!=", keyId)
    .where("state", "=", "active")
    .where(sql<boolean>`scopes @> ${JSON.stringify([PLATFORM_ADMIN_SCOPE])}::jsonb`)
    .executeTakeFirstOrThrow();
  return (losesLasting && others.lasting === 0) || (losesUnexpired && others.unexpired === 0);
}

/** Whether any key is an active platform admin at `now`: someone can still get in. */
export async function anyUnexpiredPlatformAdminKey(tx: Transaction<Database>, now: Date): Promise<boolean> {
  const row = await tx
    .selectFrom("keys")
    .select("id")
    .where("state", "=", "active")
    .where(sql<boolean>`scopes @> ${JSON.stringify([PLATFORM_ADMIN_SCOPE])}::jsonb`)
    .where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", now)]))
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}
