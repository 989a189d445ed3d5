import { sql, type Kysely } from "kysely";

/**
 * Prompt template attachments left dangling by releases before DeleteTeam and DeleteOrg refused
 * while a live template is attached (server/store/prompt-attachment-targets.ts). Those deleted a
 * team (with its keys) or an org under a template attached to it by name, and the template kept
 * the name: matched by name on every call, it governs whatever tenant is given the name next —
 * another tenant's or the platform's prompts on an org that never asked for them — and blocks
 * deleting it.
 *
 * Each live template keeps, in order, the attachments that still name what they were written
 * for, and drops those naming an org, team or key (an org's route: its org) that either no longer
 * exists or was created after the template was last written. The second is a successor under a
 * reused name: every attachment is checked to exist, read committed, before the write whose
 * transaction sets `updated_at`, so what it named was created before. The converse cannot be told
 * from the rows — a template written again (a new version, a new description) after its org was
 * re-created keeps an attachment that may name the deleted one — so those are left: they are
 * listed on the template, and DeleteOrg and DeleteTeam now name the template, for an admin to
 * decide. A global route names nothing that can go (templates follow its alias). A pruned template
 * takes a new revision and `updated_at` like any write, so replicas polling `count(*)` and
 * `sum(revision)` reload it. Deleted templates are left as they are: nothing reads them.
 *
 * The live templates are locked first (FOR UPDATE, as an update of one locks it), so no write
 * commits between the read of a template's attachments and the write of what is kept of them and
 * none is overwritten; a template created meanwhile locked what it attaches to, so it names only
 * what exists. A replica of an older release still running in a rolling upgrade can delete an org
 * under a template after this runs; that attachment is removed by updating the template.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`select id from prompt_templates where deleted_at is null order by id for update`.execute(db);
  await sql`
    with attachment as (
      select t.id, t.updated_at, a.value, a.ordinality,
        (regexp_match(a.value, '^orgs/([^/]+)'))[1] as org_name,
        (regexp_match(a.value, '^orgs/[^/]+/teams/([^/]+)'))[1] as team_name,
        (regexp_match(a.value, '^orgs/[^/]+/teams/[^/]+/keys/([^/]+)$'))[1] as key_name
      from prompt_templates t
      cross join lateral jsonb_array_elements_text(t.attachments) with ordinality a(value, ordinality)
      where t.deleted_at is null
    ),
    judged as (
      -- Qualified: orgs, teams and keys have an updated_at of their own.
      select a.id, a.value, a.ordinality,
        case
          when a.key_name is not null then exists (
            select 1 from keys join teams on teams.id = keys.team_id join orgs on orgs.id = teams.org_id
            where orgs.name = a.org_name and teams.name = a.team_name and keys.name = a.key_name and keys.created_at <= a.updated_at)
          when a.team_name is not null then exists (
            select 1 from teams join orgs on orgs.id = teams.org_id
            where orgs.name = a.org_name and teams.name = a.team_name and teams.created_at <= a.updated_at)
          when a.org_name is not null then exists (select 1 from orgs where orgs.name = a.org_name and orgs.created_at <= a.updated_at)
          else true
        end as holds
      from attachment a
    ),
    pruned as (
      select id, coalesce(jsonb_agg(value order by ordinality) filter (where holds), '[]'::jsonb) as attachments
      from judged
      group by id
      having not bool_and(holds)
    )
    update prompt_templates t
    set attachments = pruned.attachments, revision = nextval('prompt_revisions'), updated_at = now()
    from pruned
    where t.id = pruned.id
  `.execute(db);
}
