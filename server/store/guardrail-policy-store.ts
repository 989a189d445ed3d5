import { sql, type Kysely, type Transaction } from "kysely";
import { lockAttachedTargets } from "./guardrail-attachments.js";
import { runIdempotent, type IdempotencyKey, type IdempotentOutcome } from "./idempotent.js";
import { newId } from "./ids.js";
import { lockedChange, type Change } from "./locked-change.js";
import { toPage, type Page, type PageRequest } from "./paging.js";
import { removedRows } from "./revision-removals.js";
import type { Database, GuardrailAttachmentRow } from "./schema.js";

/** A guardrail policy as stored. `orgId` null is a global policy. */
export interface GuardrailPolicyRecord {
  id: string;
  orgId: string | null;
  /** The owning org's resource-name segment, for `orgs/{org}/guardrail-policies/{policy}`. */
  orgName: string | null;
  policyId: string;
  /** `switchboard.v1.GuardrailPolicy` in protobuf JSON (rules and description). */
  spec: unknown;
  attachments: GuardrailAttachmentRow[];
  enabled: boolean;
  revision: bigint;
  createdAt: Date;
  updatedAt: Date;
}

/** The fields a write sets. */
export interface GuardrailPolicyFields {
  spec: unknown;
  attachments: GuardrailAttachmentRow[];
  enabled: boolean;
}

/** A write refused because the org, team or key an attachment resolved to has been deleted since. */
export interface AttachmentGone {
  kind: "attachment_gone";
  /** The attachment's resource name. */
  name: string;
}

/**
 * Persistence of guardrail policies (migration 0007). Holds no policy logic: services validate
 * first. Writes lock what their attachments resolved to, so a team or org cannot be deleted
 * under a policy attached to it (server/store/guardrail-attachments.ts).
 */
export interface GuardrailPolicyStore {
  /**
   * Inserts a policy; `exists` when a live one has that id in that scope, `attachment_gone` when
   * an attachment's target was deleted after it was resolved. Idempotent with `key`.
   */
  create(
    orgId: string | null,
    policyId: string,
    fields: GuardrailPolicyFields,
    key?: IdempotencyKey,
  ): Promise<IdempotentOutcome<GuardrailPolicyRecord, { kind: "exists" } | AttachmentGone>>;
  get(orgId: string | null, policyId: string): Promise<GuardrailPolicyRecord | undefined>;
  list(orgId: string | null, page: PageRequest): Promise<Page<GuardrailPolicyRecord>>;
  /**
   * Replaces a live policy's fields only if its revision is still `revision` (compare-and-set):
   * the row it replaced and the row it made; undefined when there is none, `conflict` when it
   * moved, `attachment_gone` when an attachment it adds names something deleted after it was
   * resolved.
   */
  update(
    orgId: string | null,
    policyId: string,
    revision: bigint,
    fields: GuardrailPolicyFields,
  ): Promise<Change<GuardrailPolicyRecord> | "conflict" | AttachmentGone | undefined>;
  /** Soft-deletes a live policy (its revision moves, so replicas drop it): the row it deleted, as it was; undefined when none. */
  delete(orgId: string | null, policyId: string): Promise<GuardrailPolicyRecord | undefined>;
  /** Moves whenever any policy changes (count and revision sum of every row, deleted ones included, and the rows DeleteOrg removed). */
  version(): Promise<string>;
  /** Every live, enabled policy, global and per org. */
  loadEnabled(): Promise<GuardrailPolicyRecord[]>;
}

type Db = Kysely<Database> | Transaction<Database>;

/** Creates the {@link GuardrailPolicyStore} over a kysely database (Postgres or PGlite). */
export function createGuardrailPolicyStore(db: Kysely<Database>): GuardrailPolicyStore {
  const base = (q: Db) =>
    q
      .selectFrom("guardrail_policies")
      .leftJoin("orgs", "orgs.id", "guardrail_policies.org_id")
      .selectAll("guardrail_policies")
      .select("orgs.name as org_name")
      .where("guardrail_policies.deleted_at", "is", null);
  const live = (q: Db, orgId: string | null, policyId: string) =>
    base(q)
      .where("guardrail_policies.policy_id", "=", policyId)
      .where((eb) => (orgId === null ? eb("guardrail_policies.org_id", "is", null) : eb("guardrail_policies.org_id", "=", orgId)));

  // The live policy, locked until the transaction ends (see lockedChange).
  const lockLive = async (tx: Transaction<Database>, orgId: string | null, policyId: string) => {
    const row = await live(tx, orgId, policyId).forUpdate(["guardrail_policies"]).executeTakeFirst();
    return row && toRecord(row);
  };

  return {
    async create(orgId, policyId, fields, key) {
      return runIdempotent<GuardrailPolicyRecord, { kind: "exists" } | AttachmentGone>(
        db,
        key,
        async (tx) => {
          const gone = await lockAttachedTargets(tx, fields.attachments);
          if (gone !== undefined) return { kind: "attachment_gone", name: gone };
          const id = newId("grpolicy");
          const inserted = await tx
            .insertInto("guardrail_policies")
            .values({ id, org_id: orgId, policy_id: policyId, spec: JSON.stringify(fields.spec), attachments: JSON.stringify(fields.attachments), enabled: fields.enabled })
            .onConflict((oc) => oc.expression(sql`coalesce(org_id, ''), policy_id`).where("deleted_at", "is", null).doNothing())
            .returning("id")
            .executeTakeFirst();
          if (inserted === undefined) return { kind: "exists" };
          const row = await live(tx, orgId, policyId).executeTakeFirstOrThrow();
          return { kind: "created", record: toRecord(row), id };
        },
        async (tx, id) => {
          const row = await base(tx).where("guardrail_policies.id", "=", id).executeTakeFirst();
          return row && toRecord(row);
        },
      );
    },
    async get(orgId, policyId) {
      const row = await live(db, orgId, policyId).executeTakeFirst();
      return row && toRecord(row);
    },
    async list(orgId, page) {
      let q = base(db)
        .where((eb) => (orgId === null ? eb("guardrail_policies.org_id", "is", null) : eb("guardrail_policies.org_id", "=", orgId)))
        .orderBy("guardrail_policies.id")
        .limit(page.limit + 1);
      if (page.after !== undefined) q = q.where("guardrail_policies.id", ">", page.after);
      return toPage(await q.execute(), page.limit, toRecord);
    },
    async update(orgId, policyId, revision, fields) {
      const change = await lockedChange(db, (tx) => lockLive(tx, orgId, policyId), async (tx, current) => {
        // Compared under the lock, so the compare-and-set holds for the whole transaction.
        if (current.revision !== revision) return "conflict" as const;
        // Only what the write adds: the attachments it keeps were locked when they were added.
        const gone = await lockAttachedTargets(tx, fields.attachments, current.attachments);
        if (gone !== undefined) return { kind: "attachment_gone" as const, name: gone };
        await tx
          .updateTable("guardrail_policies")
          .set({
            spec: JSON.stringify(fields.spec),
            attachments: JSON.stringify(fields.attachments),
            enabled: fields.enabled,
            revision: sql<bigint>`nextval('guardrail_policy_revisions')`,
            updated_at: sql`now()`,
          })
          .where("id", "=", current.id)
          .execute();
        return toRecord(await live(tx, orgId, policyId).executeTakeFirstOrThrow());
      });
      if (change === undefined) return undefined;
      const { before, made } = change;
      return made === "conflict" || "kind" in made ? made : { before, after: made };
    },
    async delete(orgId, policyId) {
      const change = await lockedChange(db, (tx) => lockLive(tx, orgId, policyId), async (tx, current) => {
        await tx
          .updateTable("guardrail_policies")
          .set({ deleted_at: sql`now()`, revision: sql<bigint>`nextval('guardrail_policy_revisions')`, updated_at: sql`now()` })
          .where("id", "=", current.id)
          .execute();
      });
      return change?.before;
    },
    async version() {
      const row = await db
        .selectFrom("guardrail_policies")
        .select((eb) => [eb.fn.countAll().as("n"), eb.fn.sum("revision").as("sum"), removedRows("guardrail_policies").as("r")])
        .executeTakeFirst();
      return `${String(row?.n ?? 0)}:${String(row?.sum ?? 0)}:${row?.r ?? 0}`;
    },
    async loadEnabled() {
      const rows = await base(db).where("guardrail_policies.enabled", "=", true).orderBy("guardrail_policies.id").execute();
      return rows.map(toRecord);
    },
  };
}

interface PolicyRow {
  id: string;
  org_id: string | null;
  org_name: string | null;
  policy_id: string;
  spec: unknown;
  attachments: GuardrailAttachmentRow[];
  enabled: boolean;
  revision: bigint;
  created_at: Date;
  updated_at: Date;
}

function toRecord(row: PolicyRow): GuardrailPolicyRecord {
  return {
    id: row.id,
    orgId: row.org_id,
    orgName: row.org_name,
    policyId: row.policy_id,
    spec: row.spec,
    attachments: row.attachments,
    enabled: row.enabled,
    revision: BigInt(row.revision),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
