import { sql, type Kysely, type Transaction, type UpdateObject } from "kysely";
import type { TemplateMessage } from "../verbs/templates/prompt-template.js";
import { newId } from "./ids.js";
import { lockedChange, type Change } from "./locked-change.js";
import { lockAttachedNames } from "./prompt-attachment-targets.js";
import { runIdempotent, type IdempotencyKey, type IdempotentOutcome } from "./idempotent.js";
import { toPage, type Page, type PageRequest } from "./paging.js";
import type { Database } from "./schema.js";
import { removedRows } from "./revision-removals.js";
import { PG_INTEGER_MAX } from "./pg-integer.js";

/** A template as stored. `orgId` null is a global template. */
export interface PromptTemplateRecord {
  /** Internal id (`prompt_…`); a template re-created under a deleted one's name gets a new one. */
  id: string;
  orgId: string | null;
  /** The owning org's resource-name segment, for `orgs/{org}/prompts/{name}`. */
  orgName: string | null;
  name: string;
  verb: string;
  description: string;
  activeVersion: number;
  latestVersion: number;
  attachments: string[];
  createdAt: Date;
  updatedAt: Date;
}

/** One immutable version as stored. */
export interface PromptVersionRecord {
  templateId: string;
  version: number;
  messages: TemplateMessage[];
  variables: string[];
  description: string;
  /** Resource name of the key that created it. */
  creator: string;
  createdAt: Date;
}

/** A template with one of its versions. */
export interface TemplateVersionPair {
  template: PromptTemplateRecord;
  version: PromptVersionRecord;
}

/** The fields of a new template (its first version comes separately). */
export interface NewPromptTemplate {
  name: string;
  verb: string;
  description: string;
  attachments: string[];
}

/** The fields of a new version; the store numbers it. */
export interface NewPromptVersion {
  messages: TemplateMessage[];
  variables: string[];
  description: string;
  creator: string;
}

/**
 * A write refused because another live template of the same scope and verb already lists some
 * of the resources: `holder` is the first such template, with the resources it holds of those.
 */
export interface AttachmentTaken {
  kind: "attached";
  holder: { name: string; attachments: string[] };
}

/**
 * A write refused because the org, team or key one of its attachments names was deleted after
 * the caller checked it (prompt-attachment-targets.ts): `name` is that attachment.
 */
export interface AttachmentGone {
  kind: "gone";
  name: string;
}

/** The settable fields of a template; absent ones stay as they are. */
export interface PromptTemplatePatch {
  description?: string;
  attachments?: string[];
}

/**
 * Persistence of prompt templates and versions (migration 0006). Holds no policy: names, verbs,
 * placeholders and attachments are validated before they get here. `orgId` null means the
 * global scope, never "every org". Versions have no update path; the database rejects one too.
 *
 * The one rule it does keep is the one a check before the write cannot: a resource holds at most
 * one template per verb in each scope. Every write that sets attachments checks them against the
 * other templates and writes in one transaction serialised per scope and verb (see
 * {@link lockAttachments}), and is refused with {@link AttachmentTaken} when another holds one.
 * The same transaction locks the orgs and teams the new attachments name, so a delete of one
 * either sees the attachment or makes the write {@link AttachmentGone}.
 */
export interface PromptStore {
  /**
   * Inserts a template with version 1, active; `exists` when a live one has the name in that
   * scope, `attached` when another template of the scope and verb holds one of its attachments,
   * `gone` when what one names no longer exists.
   */
  createTemplate(
    orgId: string | null,
    init: NewPromptTemplate,
    first: NewPromptVersion,
    key?: IdempotencyKey,
  ): Promise<IdempotentOutcome<TemplateVersionPair, { kind: "exists" } | AttachmentTaken | AttachmentGone>>;
  getTemplate(orgId: string | null, name: string): Promise<PromptTemplateRecord | undefined>;
  /** A page of the live templates of one scope, in creation order, optionally of one verb. */
  listTemplates(orgId: string | null, page: PageRequest, filter?: { verb?: string }): Promise<Page<PromptTemplateRecord>>;
  /** The template before and after the patch; undefined when there is none, `attached` and `gone` as in {@link createTemplate}. */
  updateTemplate(orgId: string | null, name: string, patch: PromptTemplatePatch): Promise<Change<PromptTemplateRecord> | AttachmentTaken | AttachmentGone | undefined>;
  /** Soft-deletes a live template (its versions stay, unreachable): the template it deleted, as it was; undefined when none. */
  deleteTemplate(orgId: string | null, name: string): Promise<PromptTemplateRecord | undefined>;
  /** Appends the next version, and makes it active when `activate`. */
  createVersion(
    orgId: string | null,
    name: string,
    init: NewPromptVersion,
    activate: boolean,
    key?: IdempotencyKey,
  ): Promise<IdempotentOutcome<TemplateVersionPair, { kind: "not_found" }>>;
  getVersion(orgId: string | null, name: string, version: number): Promise<TemplateVersionPair | undefined>;
  /** A page of a live template's versions, newest first; undefined when the template does not exist. */
  listVersions(orgId: string | null, name: string, page: PageRequest): Promise<Page<PromptVersionRecord> | undefined>;
  /** Makes an existing version active (an older one: the rollback): the template before and after. */
  activateVersion(orgId: string | null, name: string, version: number): Promise<Change<PromptTemplateRecord> | "template_not_found" | "version_not_found">;
  /** A version by template id (the resolver's lookup of pinned versions). */
  versionOf(templateId: string, version: number): Promise<PromptVersionRecord | undefined>;
  /**
   * The live templates of a scope and verb, other than `exceptName`, that list any of
   * `attachments`. A read without the lock, to refuse early: the writes re-check under it.
   */
  attachedTo(orgId: string | null, verb: string, attachments: readonly string[], exceptName?: string): Promise<{ name: string; attachments: string[] }[]>;
  /** Changes whenever any template changes (created, versioned, activated, updated, deleted). */
  fingerprint(): Promise<string>;
  /** Every live template with its active version. */
  loadActive(): Promise<TemplateVersionPair[]>;
}

type Db = Kysely<Database> | Transaction<Database>;

/**
 * First key of the transaction advisory locks that serialise attachment writes ("SWPA" in ASCII,
 * recognisable in `pg_locks`); the second is a hash of the scope and verb. Two-int keys never
 * collide with the one-bigint keys of migrations, bootstrap and request-log maintenance.
 */
export const PROMPT_ATTACHMENTS_LOCK_CLASS = 0x53575041;

/**
 * Holds, until `tx` ends, the lock of one scope and verb's attachments. Attachments are a JSON
 * array, so no unique index can refuse a second holder: writers of one scope and verb take
 * this lock before reading the other templates' attachments, and so each sees the ones the
 * writers before it committed. A hash collision only serialises two unrelated writers.
 */
async function lockAttachments(tx: Transaction<Database>, orgId: string | null, verb: string): Promise<void> {
  await sql`select pg_advisory_xact_lock(${sql.lit(PROMPT_ATTACHMENTS_LOCK_CLASS)}, hashtext(${`${orgId ?? ""}/${verb}`}))`.execute(tx);
}

const TEMPLATE_COLUMNS = [
  "prompt_templates.id",
  "prompt_templates.org_id",
  "orgs.name as org_name",
  "prompt_templates.name",
  "prompt_templates.verb",
  "prompt_templates.description",
  "prompt_templates.active_version",
  "prompt_templates.latest_version",
  "prompt_templates.attachments",
  "prompt_templates.created_at",
  "prompt_templates.updated_at",
] as const;

/** Creates the {@link PromptStore} over a kysely database (Postgres or PGlite). */
export function createPromptStore(db: Kysely<Database>): PromptStore {
  const templates = (q: Db) => q.selectFrom("prompt_templates").leftJoin("orgs", "orgs.id", "prompt_templates.org_id").select(TEMPLATE_COLUMNS);
  const live = (q: Db, orgId: string | null) =>
    templates(q)
      .where("prompt_templates.deleted_at", "is", null)
      .where((eb) => (orgId === null ? eb("prompt_templates.org_id", "is", null) : eb("prompt_templates.org_id", "=", orgId)));
  const byName = async (q: Db, orgId: string | null, name: string) =>
    mapOptional(await live(q, orgId).where("prompt_templates.name", "=", name).executeTakeFirst(), toTemplate);
  // The live template, locked until the transaction ends (see lockedChange).
  const lockByName = async (tx: Transaction<Database>, orgId: string | null, name: string) =>
    mapOptional(await live(tx, orgId).where("prompt_templates.name", "=", name).forUpdate(["prompt_templates"]).executeTakeFirst(), toTemplate);
  const byId = async (q: Db, id: string) =>
    mapOptional(await templates(q).where("prompt_templates.id", "=", id).where("prompt_templates.deleted_at", "is", null).executeTakeFirst(), toTemplate);
  const versionRow = async (q: Db, templateId: string, version: number) =>
    // A pin is a uint32: a number no integer column can hold names no version (not a query error).
    !Number.isInteger(version) || version < 1 || version > PG_INTEGER_MAX
      ? undefined
      : mapOptional(await q.selectFrom("prompt_versions").selectAll().where("template_id", "=", templateId).where("version", "=", version).executeTakeFirst(), toVersion);
  const pairOf = async (q: Db, resourceId: string): Promise<TemplateVersionPair | undefined> => {
    const [id, n] = resourceId.split("@");
    const template = await byId(q, id ?? "");
    const version = template && (await versionRow(q, template.id, Number(n)));
    return template && version ? { template, version } : undefined;
  };
  const insertVersion = (tx: Transaction<Database>, templateId: string, version: number, init: NewPromptVersion) =>
    tx
      .insertInto("prompt_versions")
      .values({
        template_id: templateId,
        version,
        messages: JSON.stringify(init.messages.map((m) => ({ role: m.role, template: m.template }))),
        variables: JSON.stringify(init.variables),
        description: init.description,
        creator: init.creator,
      })
      .execute();
  /** Bumps a live template's revision and time with `set`; the row after, or undefined. */
  const touch = async (q: Db, id: string, set: UpdateObject<Database, "prompt_templates">) => {
    const updated = await q
      .updateTable("prompt_templates")
      .set({ ...set, revision: sql<bigint>`nextval('prompt_revisions')`, updated_at: sql`now()` })
      .where("id", "=", id)
      .where("deleted_at", "is", null)
      .returning("id")
      .executeTakeFirst();
    return updated !== undefined;
  };

  /** The live templates of a scope and verb, other than `exceptName`, that list any of `attachments`. */
  const holders = async (q: Db, orgId: string | null, verb: string, attachments: readonly string[], exceptName?: string) => {
    if (attachments.length === 0) return [];
    const wanted = new Set(attachments);
    const rows = await live(q, orgId)
      .where("prompt_templates.verb", "=", verb)
      .$if(exceptName !== undefined, (qb) => qb.where("prompt_templates.name", "<>", exceptName!))
      .execute();
    return rows
      .filter((row) => row.attachments.some((a) => wanted.has(a)))
      .map((row) => ({ name: row.name, attachments: row.attachments.filter((a) => wanted.has(a)) }));
  };
  /**
   * Locks the scope and verb's attachments for `tx`, and what `attachments` name beyond `kept`
   * (the template's own, held since they were written); then the first other template holding
   * one of `attachments`, or the first that names what no longer exists.
   */
  const takenIn = async (tx: Transaction<Database>, orgId: string | null, verb: string, attachments: readonly string[], selfName: string, kept: readonly string[] = []) => {
    if (attachments.length === 0) return undefined;
    await lockAttachments(tx, orgId, verb);
    const holder = (await holders(tx, orgId, verb, attachments, selfName))[0];
    if (holder !== undefined) return { kind: "attached" as const, holder };
    const gone = await lockAttachedNames(tx, attachments, kept);
    return gone === undefined ? undefined : { kind: "gone" as const, name: gone };
  };

  return {
    async createTemplate(orgId, init, first, key) {
      return runIdempotent<TemplateVersionPair, { kind: "exists" } | AttachmentTaken | AttachmentGone>(
        db,
        key,
        async (tx) => {
          const taken = await takenIn(tx, orgId, init.verb, init.attachments, init.name);
          if (taken !== undefined) return taken;
          const id = newId("prompt");
          const inserted = await tx
            .insertInto("prompt_templates")
            .values({
              id,
              org_id: orgId,
              name: init.name,
              verb: init.verb,
              description: init.description,
              active_version: 1,
              latest_version: 1,
              attachments: JSON.stringify(init.attachments),
            })
            .onConflict((oc) => oc.expression(sql`coalesce(org_id, ''), name`).where("deleted_at", "is", null).doNothing())
            .returning("id")
            .executeTakeFirst();
          if (inserted === undefined) return { kind: "exists" as const };
          await insertVersion(tx, id, 1, first);
          return { kind: "created" as const, record: (await pairOf(tx, `${id}@1`))!, id: `${id}@1` };
        },
        pairOf,
      );
    },

    getTemplate: (orgId, name) => byName(db, orgId, name),

    async listTemplates(orgId, page, filter = {}) {
      const rows = await live(db, orgId)
        .$if(filter.verb !== undefined, (qb) => qb.where("prompt_templates.verb", "=", filter.verb!))
        .$if(page.after !== undefined, (qb) => qb.where("prompt_templates.id", ">", page.after!))
        .orderBy("prompt_templates.id")
        .limit(page.limit + 1)
        .execute();
      return toPage(rows, page.limit, toTemplate);
    },

    async updateTemplate(orgId, name, patch) {
      const change = await lockedChange(db, (tx) => lockByName(tx, orgId, name), async (tx, current) => {
        // A template's verb never changes, so the one read here is the lock's and the check's.
        const taken = patch.attachments === undefined ? undefined : await takenIn(tx, orgId, current.verb, patch.attachments, name, current.attachments);
        if (taken !== undefined) return taken;
        const set = {
          ...(patch.description === undefined ? {} : { description: patch.description }),
          ...(patch.attachments === undefined ? {} : { attachments: JSON.stringify(patch.attachments) }),
        };
        await touch(tx, current.id, set);
        return (await byId(tx, current.id))!;
      });
      if (change === undefined) return undefined;
      const { before, made } = change;
      return "kind" in made ? made : { before, after: made };
    },

    async deleteTemplate(orgId, name) {
      const change = await lockedChange(db, (tx) => lockByName(tx, orgId, name), (tx, current) => touch(tx, current.id, { deleted_at: sql`now()` }));
      return change?.before;
    },

    async createVersion(orgId, name, init, activate, key) {
      return runIdempotent<TemplateVersionPair, { kind: "not_found" }>(
        db,
        key,
        async (tx) => {
          // The row lock serializes concurrent versions of one template: each gets the next number.
          const current = await live(tx, orgId).where("prompt_templates.name", "=", name).forUpdate(["prompt_templates"]).executeTakeFirst();
          if (current === undefined) return { kind: "not_found" as const };
          const version = current.latest_version + 1;
          await insertVersion(tx, current.id, version, init);
          await touch(tx, current.id, { latest_version: version, ...(activate ? { active_version: version } : {}) });
          const resourceId = `${current.id}@${version}`;
          return { kind: "created" as const, record: (await pairOf(tx, resourceId))!, id: resourceId };
        },
        pairOf,
      );
    },

    async getVersion(orgId, name, version) {
      const template = await byName(db, orgId, name);
      const row = template && (await versionRow(db, template.id, version));
      return template && row ? { template, version: row } : undefined;
    },

    async listVersions(orgId, name, page) {
      const template = await byName(db, orgId, name);
      if (template === undefined) return undefined;
      const rows = await db
        .selectFrom("prompt_versions")
        .selectAll()
        .where("template_id", "=", template.id)
        .$if(page.after !== undefined, (qb) => qb.where("version", "<", Number(page.after)))
        .orderBy("version", "desc")
        .limit(page.limit + 1)
        .execute();
      return toPage(
        rows.map((row) => ({ ...row, id: String(row.version) })),
        page.limit,
        toVersion,
      );
    },

    async activateVersion(orgId, name, version) {
      const change = await lockedChange(db, (tx) => lockByName(tx, orgId, name), async (tx, current) => {
        if ((await versionRow(tx, current.id, version)) === undefined) return "version_not_found" as const;
        await touch(tx, current.id, { active_version: version });
        return (await byId(tx, current.id))!;
      });
      if (change === undefined) return "template_not_found";
      return change.made === "version_not_found" ? change.made : { before: change.before, after: change.made };
    },

    versionOf: (templateId, version) => versionRow(db, templateId, version),

    attachedTo: (orgId, verb, attachments, exceptName) => holders(db, orgId, verb, attachments, exceptName),

    async fingerprint() {
      const row = await db
        .selectFrom("prompt_templates")
        .select([sql<string>`count(*)::text`.as("n"), sql<string>`coalesce(sum(revision), 0)::text`.as("s"), removedRows("prompt_templates").as("r")])
        .executeTakeFirstOrThrow();
      return `${row.n}:${row.s}:${row.r}`;
    },

    async loadActive() {
      const rows = await templates(db)
        .innerJoin("prompt_versions", (join) =>
          join.onRef("prompt_versions.template_id", "=", "prompt_templates.id").onRef("prompt_versions.version", "=", "prompt_templates.active_version"),
        )
        .select([
          "prompt_versions.template_id",
          "prompt_versions.version",
          "prompt_versions.messages",
          "prompt_versions.variables",
          "prompt_versions.description as version_description",
          "prompt_versions.creator",
          "prompt_versions.created_at as version_created_at",
        ])
        .where("prompt_templates.deleted_at", "is", null)
        .orderBy("prompt_templates.id")
        .execute();
      return rows.map((row) => ({
        template: toTemplate(row),
        version: toVersion({ ...row, description: row.version_description, created_at: row.version_created_at }),
      }));
    },
  };
}

function mapOptional<Row, T>(row: Row | undefined, map: (row: Row) => T): T | undefined {
  return row === undefined ? undefined : map(row);
}

interface TemplateRow {
  id: string;
  org_id: string | null;
  org_name: string | null;
  name: string;
  verb: string;
  description: string;
  active_version: number;
  latest_version: number;
  attachments: string[];
  created_at: Date;
  updated_at: Date;
}

function toTemplate(row: TemplateRow): PromptTemplateRecord {
  return {
    id: row.id,
    orgId: row.org_id,
    orgName: row.org_name,
    name: row.name,
    verb: row.verb,
    description: row.description,
    activeVersion: row.active_version,
    latestVersion: row.latest_version,
    attachments: row.attachments,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

interface VersionRow {
  template_id: string;
  version: number;
  messages: { role: string; template: string }[];
  variables: string[];
  description: string;
  creator: string;
  created_at: Date;
}

function toVersion(row: VersionRow): PromptVersionRecord {
  return {
    templateId: row.template_id,
    version: row.version,
    messages: row.messages.map((m) => ({ role: m.role as TemplateMessage["role"], template: m.template })),
    variables: row.variables,
    description: row.description,
    creator: row.creator,
    createdAt: row.created_at,
  };
}
