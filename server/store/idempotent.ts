import type { Kysely, Transaction } from "kysely";
import type { Database } from "./schema.js";

/** Identifies one idempotent mutation: a caller's `request_id` for one operation. */
export interface IdempotencyKey {
  /** The caller's org id: request ids of different orgs never collide. */
  scope: string;
  /** The operation, e.g. `CreateKey`. */
  operation: string;
  /** The caller's `request_id`. */
  requestId: string;
  /** Hash of the request without its `request_id`. */
  fingerprint: string;
}

/** What a mutation made: a record with its internal id. */
export interface Made<T> {
  kind: "created";
  record: T;
  id: string;
}

/** How an idempotent mutation ended, besides the mutation's own rejections `R`. */
export type IdempotentOutcome<T, R> =
  | { kind: "created"; record: T }
  /** A repeat: the record the first call made, as it is now. */
  | { kind: "replayed"; record: T }
  /** A repeat whose resource has since been deleted. */
  | { kind: "replayed_gone" }
  /** The `request_id` was used before for a different request. */
  | { kind: "request_id_reused" }
  | R;

/** Carries a rejection out of the transaction so everything it wrote is rolled back. */
class Rejected<R> {
  constructor(readonly outcome: R) {}
}

/**
 * Runs `make` in a transaction that first claims `key` in `idempotency_records`.
 *
 * - No key: `make` runs alone (still in a transaction).
 * - A new key: the claim and `make`'s writes commit together, so a crash never leaves a claim
 *   without its resource or a resource without its claim.
 * - A repeat: the claim insert finds the earlier row (waiting for a concurrent first call to
 *   commit or roll back, through the primary key), and `load` returns the resource it made;
 *   `make` does not run.
 * - A rejection from `make` (anything but `created`) rolls the whole transaction back,
 *   the claim included, so the same `request_id` may be retried after the caller fixes the cause.
 */
export async function runIdempotent<T, R extends { kind: string }>(
  db: Kysely<Database>,
  key: IdempotencyKey | undefined,
  make: (tx: Transaction<Database>) => Promise<Made<T> | R>,
  load: (tx: Transaction<Database>, id: string) => Promise<NoInfer<T> | undefined>,
): Promise<IdempotentOutcome<T, R>> {
  try {
    return await db.transaction().execute(async (tx): Promise<IdempotentOutcome<T, R>> => {
      if (key !== undefined) {
        const claimed = await tx
          .insertInto("idempotency_records")
          .values({ scope: key.scope, operation: key.operation, request_id: key.requestId, fingerprint: key.fingerprint })
          .onConflict((oc) => oc.columns(["scope", "operation", "request_id"]).doNothing())
          .returning("request_id")
          .executeTakeFirst();
        if (claimed === undefined) {
          const prior = await tx
            .selectFrom("idempotency_records")
            .select(["fingerprint", "resource_id"])
            .where("scope", "=", key.scope)
            .where("operation", "=", key.operation)
            .where("request_id", "=", key.requestId)
            .executeTakeFirstOrThrow();
          if (prior.fingerprint !== key.fingerprint) return { kind: "request_id_reused" };
          const record = await load(tx, prior.resource_id);
          return record === undefined ? { kind: "replayed_gone" } : { kind: "replayed", record };
        }
      }
      const made = await make(tx);
      if (made.kind !== "created") throw new Rejected(made as R);
      const { record, id } = made as Made<T>;
      if (key !== undefined) {
        await tx
          .updateTable("idempotency_records")
          .set({ resource_id: id })
          .where("scope", "=", key.scope)
          .where("operation", "=", key.operation)
          .where("request_id", "=", key.requestId)
          .execute();
      }
      return { kind: "created", record };
    });
  } catch (err) {
    if (err instanceof Rejected) return err.outcome as R;
    throw err;
  }
}
