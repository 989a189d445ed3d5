import { sql, type Transaction } from "kysely";
import type { Database } from "./schema.js";

/**
 * First key of the transaction advisory locks on the use of one credential by routes ("SWCU" in
 * ASCII, recognisable in `pg_locks`); the second is a hash of the credential's resource name.
 * Two-int keys never collide with the one-bigint keys of migrations, bootstrap and the
 * platform-admin guard.
 *
 * Route writes hold it shared for every credential their route names, to their commit;
 * DeleteCredential holds it exclusively while it looks for routes naming the credential and
 * deletes it. So the look and the delete are one step to any route write on any replica: a route
 * write that committed first is seen (the delete is refused); one that had not waits for the
 * delete and lands after it, naming an absent credential as any route may (a credential can be
 * created again, or come from `SWITCHBOARD_CREDENTIAL_<ID>`). Routes name credentials by resource
 * name, which the lock can take whether or not the credential exists; a hash collision only
 * makes two unrelated writers wait for each other.
 */
export const CREDENTIAL_USE_LOCK_CLASS = 0x53574355;

/** The credentials a stored route spec (`switchboard.v1.Route` in protobuf JSON) names in its targets. */
export function credentialsNamedBy(spec: unknown): string[] {
  const targets = (spec as { targets?: unknown } | null)?.targets;
  if (!Array.isArray(targets)) return [];
  return targets.map((t) => (t as { credential?: unknown } | null)?.credential).filter((c): c is string => typeof c === "string" && c !== "");
}

/**
 * Holds, until `tx` ends, the use lock of each credential in `names`: shared (a route write) or
 * exclusive (a delete). Taken in one order, so two route writes never wait on each other in a
 * cycle; a route write takes them after its row writes, so while it holds them it waits for
 * nothing but them.
 */
export async function lockCredentialUse(tx: Transaction<Database>, names: readonly string[], mode: "shared" | "exclusive"): Promise<void> {
  const lock = mode === "shared" ? sql`pg_advisory_xact_lock_shared` : sql`pg_advisory_xact_lock`;
  for (const name of [...new Set(names)].sort()) {
    await sql`select ${lock}(${sql.lit(CREDENTIAL_USE_LOCK_CLASS)}, hashtext(${name}))`.execute(tx);
  }
}

/** A live route, by its resource-name segments (`orgName` null: a global route). */
export interface RouteRef {
  orgName: string | null;
  alias: string;
}

/**
 * The live routes whose targets name credential `name` (its resource name, as routes hold it),
 * in id order. Run it under the exclusive {@link lockCredentialUse}, so no route write naming the
 * credential is between its commit and this read.
 */
export async function routesUsing(tx: Transaction<Database>, name: string): Promise<RouteRef[]> {
  const rows = await tx
    .selectFrom("routes")
    .leftJoin("orgs", "orgs.id", "routes.org_id")
    .select(["routes.alias", "orgs.name as org_name"])
    .where("routes.deleted_at", "is", null)
    .where(sql<boolean>`routes.spec -> 'targets' @> ${JSON.stringify([{ credential: name }])}::jsonb`)
    .orderBy("routes.id")
    .execute();
  return rows.map((r) => ({ orgName: r.org_name, alias: r.alias }));
}
