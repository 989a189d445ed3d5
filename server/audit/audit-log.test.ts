import fc from "fast-check";
import { sql, type Kysely } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogCapture } from "../../test/support/log-capture.js";
import { createDatabase, type DatabaseHandle } from "../store/database.js";
import { migrateToLatest } from "../store/migrate.js";
import type { Database } from "../store/schema.js";
import { createAuditLog, DROPPED_ACTION, type AuditLog, type AuditRecord } from "./audit-log.js";
import { COALESCED_ACTION } from "./refusal-coalescer.js";
import { chainHash, GENESIS_HASH } from "./chain.js";

// One PGlite for the file (starting one costs seconds); every test works from the current head.
let database: DatabaseHandle;
let db: Kysely<Database>;
let audit: AuditLog;
beforeAll(async () => {
  database = await createDatabase({ dataDir: "memory://" });
  await migrateToLatest(database.db);
  db = database.db;
  audit = createAuditLog({ db, logger: createLogCapture().logger }, { replica: "test/1" });
});
afterAll(async () => {
  await database?.close();
});

async function head(): Promise<bigint> {
  return (await audit.store.head()).sequence;
}

function event(i: number, over: Partial<AuditRecord> = {}): AuditRecord {
  return {
    actor: "orgs/acme/teams/ops/keys/admin",
    actorOrg: "orgs/acme",
    actorOrgId: "org_1",
    action: "switchboard.v1.KeyService/RevokeKey",
    resource: `orgs/acme/teams/ops/keys/k${i}`,
    before: { state: "KEY_STATE_ACTIVE", n: i },
    after: { state: "KEY_STATE_REVOKED", n: i },
    outcome: "success",
    code: "ok",
    peer: "127.0.0.1",
    requestId: `req-${i}`,
    org: null,
    ...over,
  };
}

async function fill(n: number): Promise<void> {
  for (let i = 1; i <= n; i++) await audit.append(event(i));
}

/** Runs `statement` with the append-only triggers off, as a superuser tampering would. */
async function tamper(db: Kysely<Database>, statement: ReturnType<typeof sql>): Promise<void> {
  await sql`alter table audit_events disable trigger user`.execute(db);
  await statement.execute(db);
  await sql`alter table audit_events enable trigger user`.execute(db);
}

describe("audit log", () => {
  it("appends a gap-free, linked chain that verifies", async () => {
    expect(await head()).toBe(0n);
    const first = await audit.append(event(1));
    expect(first.sequence).toBe(1n);
    expect(first.previousHash).toBe(GENESIS_HASH);
    expect(first.hash).toBe(chainHash(first, GENESIS_HASH));
    const second = await audit.append(event(2));
    expect(second.previousHash).toBe(first.hash);
    expect(await audit.verify()).toEqual({ intact: true, checked: 2n, firstBroken: 0n, headSequence: 2n, headHash: second.hash });
    expect(await audit.verify(2n, 2n)).toMatchObject({ intact: true, checked: 1n, headSequence: 2n });
    expect(await audit.verify(5n)).toMatchObject({ intact: true, checked: 0n });
  });

  it("keeps one linear chain under concurrent appends", async () => {
    const from = await head();
    await Promise.all(Array.from({ length: 40 }, (_, i) => audit.append(event(i + 1))));
    expect(await audit.verify()).toMatchObject({ intact: true, checked: from + 40n, headSequence: from + 40n });
  });

  it("hashes exactly what jsonb gives back, whatever the before and after hold", async () => {
    const from = await head();
    const json = fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 });
    await fc.assert(
      fc.asyncProperty(json, json, async (before, after) => {
        await audit.append(event(1, { before: before as never, after: after as never }));
      }),
      { numRuns: 40 },
    );
    expect(await audit.verify(from + 1n)).toMatchObject({ intact: true, checked: 40n });
  });

  it("refuses UPDATE, DELETE and TRUNCATE, and an insert that does not extend the head", async () => {
    await fill(3);
    const before = await head();
    await expect(sql`update audit_events set resource = 'x' where sequence = 2`.execute(db)).rejects.toThrow(/append-only: update/);
    await expect(sql`delete from audit_events where sequence = 3`.execute(db)).rejects.toThrow(/append-only: delete/);
    await expect(sql`truncate audit_events`.execute(db)).rejects.toThrow(/append-only: truncate/);
    await expect(sql`update audit_chain_head set sequence = 1`.execute(db)).rejects.toThrow(/only advances/);
    await expect(sql`delete from audit_chain_head`.execute(db)).rejects.toThrow(/append-only/);
    await expect(
      sql`insert into audit_events (sequence, time, action, outcome, previous_hash, hash) values (9, now(), 'x', 'success', ${GENESIS_HASH}, ${GENESIS_HASH})`.execute(db),
    ).rejects.toThrow(/does not extend the chain head/);
    expect(await head()).toBe(before);
    expect(await audit.verify()).toMatchObject({ intact: true, checked: before });
  });

  it("detects every kind of tampering at exactly the first broken sequence", async () => {
    await fill(6);
    const original = await audit.store.range(1n, undefined, 1000);
    const total = BigInt(original.length);
    const at = (i: bigint) => total - 6n + i; // the i-th (1-based) of the six events just added
    /** Puts every original row back (as a superuser could), so each case starts from an intact chain. */
    const restore = async () => {
      await tamper(db, sql`delete from audit_events`);
      for (const e of original) {
        await tamper(
          db,
          sql`insert into audit_events (sequence, time, actor, actor_org, actor_org_id, org_id, action, resource, before, after, outcome, code, peer, request_id, replica, previous_hash, hash)
              values (${e.sequence}, ${e.time}, ${e.actor}, ${e.actorOrg}, ${e.actorOrgId}, ${e.orgId}, ${e.action}, ${e.resource}, ${JSON.stringify(e.before)}, ${JSON.stringify(e.after)},
                      ${e.outcome}, ${e.code}, ${e.peer}, ${e.requestId}, ${e.replica}, ${e.previousHash}, ${e.hash})`,
        );
      }
      expect(await audit.verify()).toMatchObject({ intact: true, checked: total });
    };

    // An edited event fails its own hash.
    await tamper(db, sql`update audit_events set resource = 'orgs/acme/teams/ops/keys/innocent' where sequence = ${at(4n)}`);
    expect(await audit.verify()).toMatchObject({ intact: false, firstBroken: at(4n), problem: "hash", checked: at(3n), headSequence: at(3n) });
    await restore();

    // An edit with its hash recomputed breaks the next event's link.
    const forged = { ...original[Number(at(3n)) - 1]!, outcome: "failure" as const };
    await tamper(db, sql`update audit_events set outcome = 'failure', hash = ${chainHash(forged, forged.previousHash)} where sequence = ${at(3n)}`);
    expect(await audit.verify()).toMatchObject({ intact: false, firstBroken: at(4n), problem: "link" });
    await restore();

    // A deleted event leaves a gap at its sequence.
    await tamper(db, sql`delete from audit_events where sequence = ${at(2n)}`);
    expect(await audit.verify()).toMatchObject({ intact: false, firstBroken: at(2n), problem: "missing" });
    await restore();

    // A cut-off tail disagrees with the chain head.
    await tamper(db, sql`delete from audit_events where sequence >= ${at(5n)}`);
    expect(await audit.verify()).toMatchObject({ intact: false, firstBroken: at(5n), problem: "truncated", headSequence: at(4n) });
    await restore();

    // Two events' contents swapped: the first of them fails.
    await tamper(db, sql`update audit_events a set resource = b.resource from audit_events b where (a.sequence, b.sequence) in ((${at(2n)}, ${at(3n)}), (${at(3n)}, ${at(2n)}))`);
    expect(await audit.verify()).toMatchObject({ intact: false, firstBroken: at(2n), problem: "hash" });
    await restore();
  });

  it("records refused calls in the background, and a flood as one summary", async () => {
    const from = await head();
    const small = createAuditLog({ db, logger: createLogCapture().logger }, { maxPending: 3 });
    for (let i = 1; i <= 10; i++) small.appendLater(event(i, { outcome: "denied", code: "unauthenticated", actor: "", actorOrg: "", actorOrgId: null }));
    await small.drain();
    // At most 3 wait (one more is already being written); the rest are counted in one summary.
    const events = await small.store.range(from + 1n, undefined, 100);
    const recorded = events.filter((e) => e.action === "switchboard.v1.KeyService/RevokeKey");
    expect(recorded.length).toBeLessThanOrEqual(4);
    expect(events.at(-1)).toMatchObject({ action: DROPPED_ACTION, outcome: "denied", after: { dropped: 10 - recorded.length, actions: ["switchboard.v1.KeyService/RevokeKey"] } });
    expect(events).toHaveLength(recorded.length + 1);
    expect(await small.verify(from + 1n)).toMatchObject({ intact: true, checked: BigInt(events.length) });
  });

  it("records an address's unauthenticated calls one by one up to its count a minute, the rest as one summary; authenticated refusals each", async () => {
    const from = await head();
    const log = createAuditLog({ db, logger: createLogCapture().logger }, { unauthenticatedPerAddress: 4 });
    const anonymous = (peer: string) => event(0, { outcome: "denied", code: "unauthenticated", actor: "", actorOrg: "", actorOrgId: null, peer });
    for (let i = 0; i < 30; i++) log.appendLater(anonymous("198.51.100.7"));
    for (let i = 0; i < 2; i++) log.appendLater(anonymous("198.51.100.8"));
    for (let i = 0; i < 6; i++) log.appendLater(event(i, { outcome: "denied", code: "permission_denied" }));
    await log.drain();
    const events = await log.store.range(from + 1n, undefined, 100);
    const of = (peer: string) => events.filter((e) => e.peer === peer && e.actor === "" && e.action !== COALESCED_ACTION);
    expect(of("198.51.100.7")).toHaveLength(4);
    expect(of("198.51.100.8")).toHaveLength(2);
    expect(events.filter((e) => e.code === "permission_denied")).toHaveLength(6);
    const summaries = events.filter((e) => e.action === COALESCED_ACTION);
    expect(summaries).toHaveLength(1);
    expect(summaries[0]).toMatchObject({ peer: "198.51.100.7", outcome: "denied", code: "unauthenticated", after: { calls: 26, actions: ["switchboard.v1.KeyService/RevokeKey"] } });
    expect(events).toHaveLength(4 + 2 + 6 + 1);
    expect(await log.verify(from + 1n)).toMatchObject({ intact: true });
  });
});
