import { sql, type Kysely } from "kysely";

/**
 * Guardrail attachments left dangling by releases before DeleteTeam and DeleteOrg refused while a
 * live policy is attached (server/store/guardrail-attachments.ts). Those deleted a team (with its
 * keys) or an org under a policy attached to it, and the policy kept the attachment by the deleted
 * id: it applies to nothing, is still listed, and — the refusal matches attachments by name —
 * blocks deleting a team or org re-created under that name until someone removes it by hand.
 *
 * Each live policy keeps, in order, the attachments whose org, team or key still exists (a route
 * through its owning org; a global route names nothing that can go) and drops the rest, taking a
 * new revision and `updated_at` like any write, so replicas polling `count(*)` and `sum(revision)`
 * reload it and an update made over the old revision is refused as a conflict. An attachment
 * whose id exists is kept even if its name is now taken by something else: ids are never reused.
 * Deleted policies are left as they are: nothing reads their attachments, and their revisions are
 * part of that poll.
 *
 * The live policies are locked first (FOR UPDATE, as an update of one locks it), so no write
 * commits between the read of a policy's attachments and the write of what is kept of them and
 * none is overwritten. Not the table: a write holding its policy's row lock would then wait on the
 * table while this waited on the row. A policy created meanwhile locked what it attaches to, so
 * it names only what exists. A replica of an older release still running in a rolling upgrade can
 * delete a team under a policy after this runs; that attachment is removed by updating the policy.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`select id from guardrail_policies where deleted_at is null order by id for update`.execute(db);
  await sql`
    with attachment as (
      select p.id, a.value, a.ordinality,
        case a.value->>'kind'
          when 'org' then exists (select 1 from orgs where orgs.id = a.value->>'id')
          when 'team' then exists (select 1 from teams where teams.id = a.value->>'id')
          when 'key' then exists (select 1 from keys where keys.id = a.value->>'id')
          when 'route' then a.value->>'id' is null or exists (select 1 from orgs where orgs.id = a.value->>'id')
          else true
        end as target_exists
      from guardrail_policies p
      cross join lateral jsonb_array_elements(p.attachments) with ordinality a
      where p.deleted_at is null
    ),
    pruned as (
      select id, coalesce(jsonb_agg(value order by ordinality) filter (where target_exists), '[]'::jsonb) as attachments
      from attachment
      group by id
      having not bool_and(target_exists)
    )
    update guardrail_policies p
    set attachments = pruned.attachments, revision = nextval('guardrail_policy_revisions'), updated_at = now()
    from pruned
    where p.id = pruned.id
  `.execute(db);
}
