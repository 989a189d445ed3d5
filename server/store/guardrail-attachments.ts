import { sql, type Transaction } from "kysely";
import type { Database, GuardrailAttachmentRow } from "./schema.js";

/**
 * Guardrail attachments and the orgs, teams and keys they name, kept consistent.
 *
 * An attachment is stored resolved to the internal id of what it names (migration 0007), so the
 * request path matches it without a lookup. One that outlived its team would go on listing
 * `orgs/{org}/teams/{team}` while applying to nothing — not even to a team re-created under that
 * name, which gets a new id. So deleting a team or an org is refused while a live policy names it
 * ({@link policiesAttachedTo}), and a policy write locks what it attaches to
 * ({@link lockAttachedTargets}) FOR KEY SHARE, as a key insert locks its team through the foreign
 * key: a delete holding FOR UPDATE either commits first (the write then finds its target gone) or
 * waits for the write to commit and then sees the attachment.
 */

/** A live policy attached to something, by the parts of its resource name. */
export interface AttachedPolicy {
  orgName: string | null;
  policyId: string;
}

/** The first few live policies attached to a resource and how many there are in all. */
export interface AttachedPolicies {
  policies: AttachedPolicy[];
  total: number;
}

/** How many policies a refusal names; the rest are counted. */
const NAMED = 3;

/**
 * Locks, FOR KEY SHARE, the orgs, teams and keys' teams that `attachments` resolved to, except
 * those already in `kept` (locked when they were attached, and undeletable since), and returns
 * the name of the first attachment whose target no longer exists. A key is held through its team:
 * keys are deleted only with their team, under the team's FOR UPDATE lock. Global routes name
 * nothing to lock; an org's route locks its org.
 */
export async function lockAttachedTargets(
  tx: Transaction<Database>,
  attachments: readonly GuardrailAttachmentRow[],
  kept: readonly GuardrailAttachmentRow[] = [],
): Promise<string | undefined> {
  const held = new Set(kept.map((a) => `${a.kind}:${a.id ?? ""}`));
  const added = attachments.filter((a) => a.id !== null && !held.has(`${a.kind}:${a.id}`));
  const ids = (kinds: readonly GuardrailAttachmentRow["kind"][]) => [...new Set(added.filter((a) => kinds.includes(a.kind)).map((a) => a.id!))];
  const orgIds = ids(["org", "route"]);
  const teamIds = ids(["team"]);
  const keyIds = ids(["key"]);
  const found = new Set<string>();
  if (keyIds.length > 0) {
    await tx
      .selectFrom("teams")
      .select("id")
      .where("id", "in", tx.selectFrom("keys").select("team_id").where("id", "in", keyIds))
      .forKeyShare()
      .execute();
    // Read after the lock: a team deleted meanwhile took its keys with it.
    for (const row of await tx.selectFrom("keys").select("id").where("id", "in", keyIds).execute()) found.add(row.id);
  }
  // A row deleted by a transaction the lock waited for is skipped, so what comes back exists.
  if (teamIds.length > 0) for (const row of await tx.selectFrom("teams").select("id").where("id", "in", teamIds).forKeyShare().execute()) found.add(row.id);
  if (orgIds.length > 0) for (const row of await tx.selectFrom("orgs").select("id").where("id", "in", orgIds).forKeyShare().execute()) found.add(row.id);
  return added.find((a) => !found.has(a.id!))?.name;
}

/**
 * The live policies (enabled or not: a disabled one may be enabled again) with an attachment
 * named `name` or anything under it (`name/…`: a team's keys, an org's teams, keys and routes),
 * matched by name so that attachments left dangling before deletes were refused count too
 * (migration 0012 removed those it found; a replica of an older release in a rolling upgrade can
 * still leave one, and then only removing it lets the name's new team or org go).
 * Policies owned by `exceptOrgId` are left out (they are deleted with that org). Call it in the
 * transaction that holds the FOR UPDATE lock on the team or org.
 */
export async function policiesAttachedTo(tx: Transaction<Database>, name: string, exceptOrgId?: string): Promise<AttachedPolicies | undefined> {
  const rows = await tx
    .selectFrom("guardrail_policies")
    .leftJoin("orgs", "orgs.id", "guardrail_policies.org_id")
    .select(["guardrail_policies.policy_id", "orgs.name as org_name", sql<string>`count(*) over ()`.as("total")])
    .where("guardrail_policies.deleted_at", "is", null)
    .$if(exceptOrgId !== undefined, (qb) => qb.where(sql<boolean>`guardrail_policies.org_id is distinct from ${exceptOrgId}`))
    .where(
      sql<boolean>`exists (select 1 from jsonb_array_elements(guardrail_policies.attachments) a where a->>'name' = ${name} or starts_with(a->>'name', ${`${name}/`}))`,
    )
    .orderBy("orgs.name", (ob) => ob.nullsFirst())
    .orderBy("guardrail_policies.policy_id")
    .limit(NAMED)
    .execute();
  if (rows.length === 0) return undefined;
  return { policies: rows.map((r) => ({ orgName: r.org_name, policyId: r.policy_id })), total: Number(rows[0]!.total) };
}
