import { randomBytes } from "node:crypto";
import { sql, type ExpressionBuilder, type Kysely } from "kysely";
import type { Database } from "./schema.js";

/** One idempotent verb call: a caller's key within its org, for one request. */
export interface VerbIdempotencyKey {
  orgId: string;
  key: string;
  /** The RPC, so a key reused on another method is a mismatch too. */
  method: string;
  /** Hash of the request without its idempotency key. */
  fingerprint: string;
}

/**
 * A claim a call holds: its key and the random token that says it still owns it. A call whose
 * lease was not renewed in time (its replica died or lost the database) can have its key taken
 * over by a repeat (with a new token); from then on its `renew`, `complete` and `release` match
 * nothing.
 */
export interface HeldClaim {
  orgId: string;
  key: string;
  owner: string;
}

/** What a claim found. */
export type ClaimOutcome =
  /** This call owns the key: run it, then `complete` or `release` what it holds. */
  | { kind: "claimed"; held: HeldClaim }
  /** The key was used for a different request (or method) within the retention. */
  | { kind: "mismatch" }
  /**
   * Another call with the key is running (its lease has not expired). `leaseLeftMs`: how long
   * its lease still lasts (rounded up, > 0), the longest the key can stay taken unless renewed.
   */
  | { kind: "in_flight"; leaseLeftMs: number }
  /** The first call finished: its stored response. */
  | { kind: "done"; response: Uint8Array };

/** Persistence of idempotent verb calls (migration 0005). No policy: the interceptor decides. */
export interface VerbIdempotencyStore {
  /**
   * Claims the key, atomically across replicas (the primary key decides). A record older than
   * `retentionMs` counts as absent; an in-flight claim whose lease ran out (its replica died) is
   * taken over.
   */
  claim(k: VerbIdempotencyKey, opts: { leaseMs: number; retentionMs: number }): Promise<ClaimOutcome>;
  /**
   * Stores the response of a claimed call, if the call still owns its claim; resolves whether it
   * did. False: its lease ran out and another call took the key over, whose answer this is not.
   */
  complete(held: HeldClaim, response: Uint8Array): Promise<boolean>;
  /**
   * Drops an in-flight claim (the call failed), so the key may be retried, if the call still owns
   * it; resolves whether it did. False: another call took the key over and keeps it.
   */
  release(held: HeldClaim): Promise<boolean>;
  /**
   * Extends an in-flight claim's lease to `leaseMs` from now, if the call still owns it (the
   * running call's heartbeat); resolves whether it did. False: the call is done, gave the key
   * back, or lost it to a takeover.
   */
  renew(held: HeldClaim, opts: { leaseMs: number }): Promise<boolean>;
  /** Deletes records older than `retentionMs`; resolves how many. */
  purgeExpired(retentionMs: number): Promise<number>;
}

/**
 * The row of a claim its holder still holds: in flight, with the holder's token. Matched in the
 * statement that writes it, since a check before the write could race with the takeover it is
 * meant to catch.
 */
function stillHeld(held: HeldClaim) {
  return (eb: ExpressionBuilder<Database, "verb_idempotency">) => eb.and({ org_id: held.orgId, idempotency_key: held.key, state: "in_flight", owner: held.owner });
}

/** Creates the {@link VerbIdempotencyStore} over a kysely database. */
export function createVerbIdempotencyStore(db: Kysely<Database>): VerbIdempotencyStore {
  const interval = (ms: number) => sql<Date>`now() + ${`${Math.round(ms)} milliseconds`}::interval`;
  const ago = (ms: number) => sql<Date>`now() - ${`${Math.round(ms)} milliseconds`}::interval`;
  return {
    async claim(k, opts) {
      const owner = randomBytes(16).toString("base64url");
      await db
        .deleteFrom("verb_idempotency")
        .where("org_id", "=", k.orgId)
        .where("idempotency_key", "=", k.key)
        .where("created_at", "<", ago(opts.retentionMs))
        .execute();
      const inserted = await db
        .insertInto("verb_idempotency")
        .values({ org_id: k.orgId, idempotency_key: k.key, method: k.method, fingerprint: k.fingerprint, state: "in_flight", lease_expires_at: interval(opts.leaseMs), owner })
        .onConflict((oc) => oc.columns(["org_id", "idempotency_key"]).doNothing())
        .returning("org_id")
        .executeTakeFirst();
      if (inserted !== undefined) return { kind: "claimed", held: { orgId: k.orgId, key: k.key, owner } };
      const row = await db
        .selectFrom("verb_idempotency")
        .select([
          "method",
          "fingerprint",
          "state",
          "response",
          sql<boolean>`lease_expires_at <= now()`.as("lapsed"),
          // Whole milliseconds, rounded up, so a caller who waits this long finds the lease over.
          sql<number>`ceil(extract(epoch from lease_expires_at - now()) * 1000)::integer`.as("lease_left_ms"),
        ])
        .where("org_id", "=", k.orgId)
        .where("idempotency_key", "=", k.key)
        .executeTakeFirst();
      if (row === undefined) return this.claim(k, opts); // released between the insert and the read
      if (row.method !== k.method || row.fingerprint !== k.fingerprint) return { kind: "mismatch" };
      if (row.state === "done") return { kind: "done", response: new Uint8Array(row.response ?? new Uint8Array()) };
      if (!row.lapsed) return { kind: "in_flight", leaseLeftMs: Math.max(1, row.lease_left_ms) };
      const taken = await db
        .updateTable("verb_idempotency")
        .set({ lease_expires_at: interval(opts.leaseMs), owner })
        .where("org_id", "=", k.orgId)
        .where("idempotency_key", "=", k.key)
        .where("state", "=", "in_flight")
        .where(sql<boolean>`lease_expires_at <= now()`)
        .returning("org_id")
        .executeTakeFirst();
      // Not taken: another call took it over, finished or gave it back in between; read it again.
      return taken === undefined ? this.claim(k, opts) : { kind: "claimed", held: { orgId: k.orgId, key: k.key, owner } };
    },
    // All three match the claim's token in the statement itself (`stillHeld`).
    async complete(held, response) {
      const result = await db
        .updateTable("verb_idempotency")
        .set({ state: "done", response })
        .where(stillHeld(held))
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
    async release(held) {
      const result = await db
        .deleteFrom("verb_idempotency")
        .where(stillHeld(held))
        .executeTakeFirst();
      return result.numDeletedRows > 0n;
    },
    async renew(held, opts) {
      const result = await db
        .updateTable("verb_idempotency")
        .set({ lease_expires_at: interval(opts.leaseMs) })
        .where(stillHeld(held))
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
    async purgeExpired(retentionMs) {
      const result = await db.deleteFrom("verb_idempotency").where("created_at", "<", ago(retentionMs)).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
