import { sql, type Transaction } from "kysely";
import { parseAttachment } from "../verbs/templates/prompt-names.js";
import type { Database } from "./schema.js";

/**
 * Prompt template attachments and the orgs, teams and keys they name, kept consistent.
 *
 * Unlike a guardrail attachment, a template attachment is stored as the resource name itself and
 * matched by name on every call (template-catalog.ts). One that outlived its org or team would
 * govern the calls of whatever tenant is given the name next — another tenant's or the
 * platform's prompts on an org that never asked for them. So deleting a team or an org is refused
 * while a live template names it ({@link templatesAttachedTo}), as for guardrail policies
 * (guardrail-attachments.ts), and a template write locks what it attaches to
 * ({@link lockAttachedNames}) FOR KEY SHARE: a delete holding FOR UPDATE either commits first
 * (the write then finds its target gone) or waits for the write to commit and then sees the
 * attachment.
 */

/** A live template attached to something, by the parts of its resource name. */
export interface AttachedTemplate {
  orgName: string | null;
  name: string;
}

/** The first few live templates attached to a resource and how many there are in all. */
export interface AttachedTemplates {
  templates: AttachedTemplate[];
  total: number;
}

/** How many templates a refusal names; the rest are counted. */
const NAMED = 3;

/**
 * Locks, FOR KEY SHARE, the orgs and teams that `attachments` name, except those in `kept`
 * (locked when they were attached, and undeletable since), and returns the first attachment
 * whose org, team or key does not exist. A key is held through its team (keys are deleted only
 * with it, under its FOR UPDATE lock), an org's route through its org; a route itself, global or
 * not, is not held: templates follow a route alias, which may be deleted and defined again.
 * Names that are not attachments are the caller's to refuse, and are passed over.
 */
export async function lockAttachedNames(tx: Transaction<Database>, attachments: readonly string[], kept: readonly string[] = []): Promise<string | undefined> {
  const held = new Set(kept);
  for (const name of attachments) {
    if (held.has(name)) continue;
    const ref = parseAttachment(name);
    if (ref === undefined || ref.orgName === null) continue;
    // A row deleted by a transaction the lock waited for is skipped, so what comes back exists.
    const org = ref.kind === "org" || ref.kind === "route";
    const found = org
      ? await tx.selectFrom("orgs").select("id").where("name", "=", ref.orgName).forKeyShare().executeTakeFirst()
      : await tx
          .selectFrom("teams")
          .innerJoin("orgs", "orgs.id", "teams.org_id")
          .select("teams.id")
          .where("orgs.name", "=", ref.orgName)
          .where("teams.name", "=", ref.teamName)
          .forKeyShare(["teams"])
          .executeTakeFirst();
    if (found === undefined) return name;
    // Read after the team's lock: a team deleted meanwhile took its keys with it.
    if (ref.kind === "key" && (await tx.selectFrom("keys").select("id").where("team_id", "=", found.id).where("name", "=", ref.keyName).executeTakeFirst()) === undefined) {
      return name;
    }
  }
  return undefined;
}

/**
 * The live templates with an attachment named `name` or anything under it (`name/…`: a team's
 * keys, an org's teams, keys and routes). Templates owned by `exceptOrgId` are left out (they are
 * deleted with that org). Call it in the transaction that holds the FOR UPDATE lock on the team
 * or org.
 */
export async function templatesAttachedTo(tx: Transaction<Database>, name: string, exceptOrgId?: string): Promise<AttachedTemplates | undefined> {
  const rows = await tx
    .selectFrom("prompt_templates")
    .leftJoin("orgs", "orgs.id", "prompt_templates.org_id")
    .select(["prompt_templates.name", "orgs.name as org_name", sql<string>`count(*) over ()`.as("total")])
    .where("prompt_templates.deleted_at", "is", null)
    .$if(exceptOrgId !== undefined, (qb) => qb.where(sql<boolean>`prompt_templates.org_id is distinct from ${exceptOrgId}`))
    .where(sql<boolean>`exists (select 1 from jsonb_array_elements_text(prompt_templates.attachments) a where a = ${name} or starts_with(a, ${`${name}/`}))`)
    .orderBy("orgs.name", (ob) => ob.nullsFirst())
    .orderBy("prompt_templates.name")
    .limit(NAMED)
    .execute();
  if (rows.length === 0) return undefined;
  return { templates: rows.map((r) => ({ orgName: r.org_name, name: r.name })), total: Number(rows[0]!.total) };
}
