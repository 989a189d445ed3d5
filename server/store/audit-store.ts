import type { JsonValue } from "@bufbuild/protobuf";
import type { Kysely, Selectable, Transaction } from "kysely";
import type { AuditEventsTable, Database } from "./schema.js";

/** How an audited call ended. */
export type AuditOutcomeName = "success" | "denied" | "failure";

/** Everything an audit event says, before the chain gives it a place. */
export interface AuditDraft {
  /** Key resource name of the caller; empty when unauthenticated. */
  actor: string;
  /** `orgs/{org}` of the caller; empty when unauthenticated. */
  actorOrg: string;
  /** Internal id of the caller's org, for org-scoped reads; null when unauthenticated. */
  actorOrgId: string | null;
  /** The RPC's full name, `switchboard.v1.KeyService/RevokeKey`. */
  action: string;
  /** Resource name acted on; may be empty. */
  resource: string;
  /** The resource before the change, secrets masked. */
  before: JsonValue | null;
  /** The resource after the change (for a refused call: `{ "request": … }`), secrets masked. */
  after: JsonValue | null;
  outcome: AuditOutcomeName;
  /** Canonical code name the call ended with: `ok`, `permission_denied`, … */
  code: string;
  /** The caller's address as the socket saw it. */
  peer: string;
  requestId: string;
}

/** An event with its place in the chain, as stored. */
export interface AuditEvent extends AuditDraft {
  sequence: bigint;
  time: Date;
  /** Internal id of the org the resource belongs to, when known: that org's admins see the event. */
  orgId: string | null;
  /** Which gateway process wrote it (`host/pid`). */
  replica: string;
  previousHash: string;
  hash: string;
}

/** An event placed in the chain but not yet hashed. */
export type UnsealedEvent = Omit<AuditEvent, "hash" | "previousHash">;

/** What {@link AuditStore.append} needs besides the draft. */
export interface AppendInput extends AuditDraft {
  /** The resource's org: its internal id when known, else its name to look up (null: none). */
  org: { id: string } | { name: string } | null;
  replica: string;
}

/** Filters of {@link AuditStore.list}; unset fields do not filter. */
export interface AuditFilter {
  /** Events about this org's resources or made by its keys. */
  orgId?: string;
  /**
   * With `orgId`: of the events its keys made about anything outside it (another org's resources,
   * global ones), only those that did not succeed — a key's refused or failed attempts, which carry
   * nothing but its own request. A success there is a platform-admin key's change, whose `before`
   * and `after` are the other org's (or the platform's) data.
   */
  elsewhereUnsuccessfulOnly?: boolean;
  actor?: string;
  action?: string;
  resourcePrefix?: string;
  /** Inclusive. */
  startTime?: Date;
  /** Exclusive. */
  endTime?: Date;
  outcome?: AuditOutcomeName;
}

/** The chain's head: the last event's sequence and hash (0 and the genesis hash when empty). */
export interface ChainHead {
  sequence: bigint;
  hash: string;
}

/** Persistence of the audit log (migration 0004). Appends only: there is no update or delete. */
export interface AuditStore {
  /**
   * Appends one event at the head of the chain. In one transaction it locks the head row (so
   * appends from every replica queue behind each other), resolves the resource's org, takes the
   * time from `now`, has `seal` compute the hash from the event and the head's hash, and inserts;
   * the database's link trigger refuses anything that does not extend the head by one.
   */
  append(input: AppendInput, now: () => Date, seal: (event: UnsealedEvent, previousHash: string) => string): Promise<AuditEvent>;
  /** Up to `limit` events matching `filter`, newest first, with sequence below `before` when set. */
  list(filter: AuditFilter, page: { limit: number; before?: bigint }): Promise<AuditEvent[]>;
  /** Events from `first` to `last` (inclusive; `last` unset: to the end), oldest first, at most `limit`. */
  range(first: bigint, last: bigint | undefined, limit: number): Promise<AuditEvent[]>;
  /** The event at `sequence`. */
  get(sequence: bigint): Promise<AuditEvent | undefined>;
  head(): Promise<ChainHead>;
}

/** Creates the {@link AuditStore} over `db`. */
export function createAuditStore(db: Kysely<Database>): AuditStore {
  return {
    async append(input, now, seal) {
      return db.transaction().execute((tx) => appendAuditEvent(tx, input, now, seal));
    },
    async list(filter, page) {
      const rows = await db
        .selectFrom("audit_events")
        .selectAll()
        .$if(filter.orgId !== undefined, (qb) =>
          qb.where((eb) =>
            eb.or([
              eb("org_id", "=", filter.orgId!),
              filter.elsewhereUnsuccessfulOnly === true
                ? eb.and([eb("actor_org_id", "=", filter.orgId!), eb("outcome", "<>", "success")])
                : eb("actor_org_id", "=", filter.orgId!),
            ]),
          ),
        )
        .$if(filter.actor !== undefined, (qb) => qb.where("actor", "=", filter.actor!))
        .$if(filter.action !== undefined, (qb) => qb.where("action", "=", filter.action!))
        .$if(filter.resourcePrefix !== undefined, (qb) => qb.where("resource", "like", `${escapeLike(filter.resourcePrefix!)}%`))
        .$if(filter.startTime !== undefined, (qb) => qb.where("time", ">=", filter.startTime!))
        .$if(filter.endTime !== undefined, (qb) => qb.where("time", "<", filter.endTime!))
        .$if(filter.outcome !== undefined, (qb) => qb.where("outcome", "=", filter.outcome!))
        .$if(page.before !== undefined, (qb) => qb.where("sequence", "<", page.before!))
        .orderBy("sequence", "desc")
        .limit(page.limit)
        .execute();
      return rows.map(toEvent);
    },
    async range(first, last, limit) {
      const rows = await db
        .selectFrom("audit_events")
        .selectAll()
        .where("sequence", ">=", first)
        .$if(last !== undefined, (qb) => qb.where("sequence", "<=", last!))
        .orderBy("sequence")
        .limit(limit)
        .execute();
      return rows.map(toEvent);
    },
    async get(sequence) {
      const row = await db.selectFrom("audit_events").selectAll().where("sequence", "=", sequence).executeTakeFirst();
      return row && toEvent(row);
    },
    async head() {
      const row = await db.selectFrom("audit_chain_head").select(["sequence", "hash"]).where("id", "=", 1).executeTakeFirstOrThrow();
      return { sequence: BigInt(row.sequence), hash: row.hash };
    },
  };
}

/**
 * {@link AuditStore.append} inside a transaction the caller holds, so that an event and the change
 * it records commit together (the break-glass key of auth/bootstrap.ts). Holds the chain head's row
 * lock until `tx` ends.
 */
export async function appendAuditEvent(
  tx: Transaction<Database>,
  input: AppendInput,
  now: () => Date,
  seal: (event: UnsealedEvent, previousHash: string) => string,
): Promise<AuditEvent> {
  const head = await tx.selectFrom("audit_chain_head").select(["sequence", "hash"]).where("id", "=", 1).forUpdate().executeTakeFirstOrThrow();
  let orgId: string | null = null;
  if (input.org !== null && "id" in input.org) orgId = input.org.id;
  else if (input.org !== null) {
    orgId = (await tx.selectFrom("orgs").select("id").where("name", "=", input.org.name).executeTakeFirst())?.id ?? null;
  }
  const { org: _org, ...draft } = input;
  const event: UnsealedEvent = { ...draft, sequence: BigInt(head.sequence) + 1n, time: now(), orgId };
  const hash = seal(event, head.hash);
  await tx
    .insertInto("audit_events")
    .values({
      sequence: event.sequence,
      time: event.time,
      actor: event.actor,
      actor_org: event.actorOrg,
      actor_org_id: event.actorOrgId,
      org_id: event.orgId,
      action: event.action,
      resource: event.resource,
      before: event.before === null ? null : JSON.stringify(event.before),
      after: event.after === null ? null : JSON.stringify(event.after),
      outcome: event.outcome,
      code: event.code,
      peer: event.peer,
      request_id: event.requestId,
      replica: event.replica,
      previous_hash: head.hash,
      hash,
    })
    .execute();
  return { ...event, previousHash: head.hash, hash };
}

/** `LIKE` pattern text matching `text` literally (backslash is Postgres's default escape). */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function toEvent(row: Selectable<AuditEventsTable>): AuditEvent {
  return {
    sequence: BigInt(row.sequence),
    time: row.time,
    actor: row.actor,
    actorOrg: row.actor_org,
    actorOrgId: row.actor_org_id,
    orgId: row.org_id,
    action: row.action,
    resource: row.resource,
    before: (row.before ?? null) as JsonValue | null,
    after: (row.after ?? null) as JsonValue | null,
    outcome: row.outcome,
    code: row.code,
    peer: row.peer,
    requestId: row.request_id,
    replica: row.replica,
    previousHash: row.previous_hash,
    hash: row.hash,
  };
}
