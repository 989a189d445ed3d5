/**
 * The audit log end to end on Postgres (P21): every admin mutation and every authentication
 * failure recorded with who, what (before/after, secrets masked), when, from where and which
 * request; append-only against UPDATE and DELETE; tampering by a superuser found at exactly the
 * edited sequence; org admins confined to their org's events; three replicas appending at once
 * keeping one valid chain.
 */
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditOutcome, type AuditEvent } from "../../gen/ts/switchboard/v1/audit_service_pb.js";
import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import { generateSecret, parseSecret } from "../../server/auth/key-format.js";
import { clientsFor, outcome, type KeyedClients } from "../support/clients.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { createTestDatabase, withClient, type TestDatabase } from "../support/postgres.js";

let database: TestDatabase;
const gateways: TestGateway[] = [];
let gw: TestGateway;
let platform: KeyedClients;
let alphaAdmin: KeyedClients;
const secrets: string[] = [];

const superuser = <T>(work: (client: pg.Client) => Promise<T>): Promise<T> => withClient(database.url, work);
async function drained(): Promise<void> {
  for (const g of gateways) await g.server.audit.drain();
}
/** Every event matching the request, following page tokens. */
async function all(c: KeyedClients, req: Parameters<KeyedClients["audit"]["listAuditEvents"]>[0]): Promise<AuditEvent[]> {
  await drained();
  const out: AuditEvent[] = [];
  let pageToken = "";
  do {
    const page = await c.audit.listAuditEvents({ ...req, pageToken });
    out.push(...page.events);
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
  return out;
}

beforeAll(async () => {
  database = await createTestDatabase();
  gw = await startTestGateway({ databaseUrl: database.url });
  gateways.push(gw);
  secrets.push(gw.adminKey);
  platform = clientsFor(gw.url, gw.adminKey);
  for (const org of ["alpha", "bravo"]) {
    await platform.tenants.createOrg({ orgId: org, org: { displayName: org } });
    await platform.tenants.createTeam({ parent: `orgs/${org}`, teamId: "admins", team: {} });
  }
  const key = await platform.keys.createKey({
    parent: "orgs/alpha/teams/admins",
    keyId: "admin",
    key: { scopes: [Scope.TENANTS_READ, Scope.TENANTS_WRITE, Scope.KEYS_READ, Scope.KEYS_WRITE, Scope.CREDENTIALS_WRITE, Scope.CREDENTIALS_READ, Scope.AUDIT_READ] },
  });
  secrets.push(key.secret);
  alphaAdmin = clientsFor(gw.url, key.secret);
});
afterAll(async () => {
  for (const g of gateways) await g.close();
  await database?.drop();
});

describe("audit log", () => {
  it("records every admin mutation with who, what before and after, where and which request; no secret", async () => {
    const created = await alphaAdmin.keys.createKey({ parent: "orgs/alpha/teams/admins", keyId: "ci", key: { scopes: [Scope.KEYS_READ] } }, { headers: { "x-request-id": "req-create-ci" } });
    const rotated = await alphaAdmin.keys.rotateKey({ name: "orgs/alpha/teams/admins/keys/ci" });
    secrets.push(created.secret, rotated.secret);
    await alphaAdmin.keys.revokeKey({ name: "orgs/alpha/teams/admins/keys/ci" });
    await alphaAdmin.tenants.updateOrg({ org: { name: "orgs/alpha", displayName: "Alpha Inc" }, updateMask: { paths: ["display_name"] } });
    const value = `sk-CANARY-audit-${generateSecret().slice(8, 30)}`;
    secrets.push(value);
    await alphaAdmin.credentials.createCredential({ parent: "orgs/alpha", credentialId: "openai", credential: { provider: "openai" }, value });
    await alphaAdmin.credentials.updateCredential({ credential: { name: "orgs/alpha/credentials/openai" }, updateMask: { paths: ["value"] }, value: `${value}-2` });
    secrets.push(`${value}-2`);

    const events = await all(platform, { parent: "orgs/alpha", resourcePrefix: "orgs/alpha/teams/admins/keys/ci" });
    expect(events.map((e) => e.action)).toEqual([
      "switchboard.v1.KeyService/RevokeKey",
      "switchboard.v1.KeyService/RotateKey",
      "switchboard.v1.KeyService/CreateKey",
    ]);
    const [revoke, , create] = events;
    expect(create).toMatchObject({
      actor: "orgs/alpha/teams/admins/keys/admin",
      actorOrg: "orgs/alpha",
      resource: "orgs/alpha/teams/admins/keys/ci",
      outcome: AuditOutcome.SUCCESS,
      requestId: "req-create-ci",
      peer: expect.stringMatching(/^(::ffff:)?127\.0\.0\.1$|^::1$/),
      after: expect.objectContaining({ name: "orgs/alpha/teams/admins/keys/ci", scopes: ["SCOPE_KEYS_READ"] }),
    });
    expect(create!.before).toBeUndefined();
    expect(revoke!.before).toMatchObject({ state: "KEY_STATE_ACTIVE" });
    expect(revoke!.after).toMatchObject({ state: "KEY_STATE_REVOKED" });
    const [org] = await all(platform, { parent: "orgs/alpha", action: "switchboard.v1.TenantService/UpdateOrg" });
    expect(org).toMatchObject({ before: { displayName: "alpha" }, after: { displayName: "Alpha Inc" } });
    const credential = await all(platform, { parent: "orgs/alpha", resourcePrefix: "orgs/alpha/credentials/" });
    expect(credential.map((e) => e.action)).toEqual(["switchboard.v1.CredentialService/UpdateCredential", "switchboard.v1.CredentialService/CreateCredential"]);
    expect(credential[0]!.before?.fingerprint).not.toEqual(credential[0]!.after?.fingerprint);

    const rows = await superuser(async (c) => (await c.query<{ row: string }>("select row_to_json(t)::text as row from audit_events t")).rows.map((r) => r.row).join("\n"));
    for (const secret of secrets) expect(rows.includes(secret), "a secret in audit_events").toBe(false);
  });

  it("records authentication failures with only the presented key's display prefix, and denials", async () => {
    const stranger = generateSecret();
    expect(await outcome(clientsFor(gw.url, stranger).tenants.getOrg({ name: "orgs/alpha" }))).toBe("Unauthenticated");
    expect(await outcome(clientsFor(gw.url, "not-a-key").capability.summarize({ text: "hi" }))).toBe("Unauthenticated");
    expect(await outcome(alphaAdmin.tenants.createOrg({ orgId: "mine", org: {} }))).toBe("PermissionDenied");
    const denied = await all(platform, { outcome: AuditOutcome.DENIED });
    const probe = denied.find((e) => e.action === "switchboard.v1.TenantService/GetOrg");
    expect(probe).toMatchObject({ actor: "", resource: "orgs/alpha", after: { presentedKey: parseSecret(stranger)!.displayPrefix } });
    expect(denied.find((e) => e.action === "switchboard.v1.CapabilityService/Summarize")).toMatchObject({ actor: "" });
    expect(denied.find((e) => e.action === "switchboard.v1.TenantService/CreateOrg")).toMatchObject({
      actor: "orgs/alpha/teams/admins/keys/admin",
      resource: "orgs/mine",
    });
    expect(JSON.stringify(denied, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v))).not.toContain(stranger.slice(12));
  });

  it("filters by time and pages newest first without repeats", async () => {
    const every = await all(platform, {});
    expect(every.length).toBeGreaterThan(10);
    const sequences = every.map((e) => e.sequence);
    expect(sequences).toEqual([...sequences].sort((a, b) => (a < b ? 1 : -1)));
    expect(new Set(sequences).size).toBe(sequences.length);
    const paged = await all(platform, { pageSize: 3 });
    expect(paged.map((e) => e.sequence)).toEqual(sequences);
    const future = await all(platform, { startTime: timestampFromMs(Date.now() + 60_000) });
    expect(future).toEqual([]);
    const bad = await platform.audit.listAuditEvents({ pageSize: 3, pageToken: "bm9wZQ" }).catch((e: unknown) => ConnectError.from(e));
    expect((bad as ConnectError).code).toBe(Code.InvalidArgument);
  });

  it("confines an org admin to its own org's events", async () => {
    await platform.tenants.updateOrg({ org: { name: "orgs/bravo", displayName: "Bravo" }, updateMask: { paths: ["display_name"] } });
    const mine = await all(alphaAdmin, { parent: "orgs/alpha" });
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.every((e) => e.resource.startsWith("orgs/alpha") || e.actorOrg === "orgs/alpha")).toBe(true);
    expect(mine.some((e) => e.resource.startsWith("orgs/bravo") && e.actorOrg !== "orgs/alpha")).toBe(false);
    expect(await outcome(alphaAdmin.audit.listAuditEvents({ parent: "orgs/bravo" }))).toBe("NotFound");
    expect(await outcome(alphaAdmin.audit.listAuditEvents({}))).toBe("PermissionDenied");
    expect(await outcome(alphaAdmin.audit.verifyAuditChain({}))).toBe("PermissionDenied");
    const bravo = await all(platform, { parent: "orgs/bravo" });
    expect(bravo.some((e) => e.action === "switchboard.v1.TenantService/UpdateOrg")).toBe(true);
  });

  it("refuses UPDATE and DELETE, and finds a superuser's edit at exactly its sequence", async () => {
    await drained();
    await expect(superuser((c) => c.query("update audit_events set actor = '' where sequence = 3"))).rejects.toThrow(/append-only/);
    await expect(superuser((c) => c.query("delete from audit_events where sequence = 3"))).rejects.toThrow(/append-only/);
    const before = await platform.audit.verifyAuditChain({});
    expect(before.intact).toBe(true);
    expect(before.firstBrokenSequence).toBe(0n);
    const head = (await superuser((c) => c.query<{ hash: string; seq: string }>("select hash, sequence::text as seq from audit_events order by audit_events.sequence desc limit 1"))).rows[0]!;
    expect(before).toMatchObject({ headHash: head.hash, headSequence: BigInt(head.seq), checked: BigInt(head.seq) });

    const target = 5;
    const original = (await superuser((c) => c.query<{ resource: string }>("select resource from audit_events where sequence = $1", [target]))).rows[0]!.resource;
    const edit = (resource: string) =>
      superuser(async (c) => {
        await c.query("alter table audit_events disable trigger audit_events_append_only");
        await c.query("update audit_events set resource = $1 where sequence = $2", [resource, target]);
        await c.query("alter table audit_events enable trigger audit_events_append_only");
      });
    await edit("orgs/alpha/nothing-happened");
    const broken = await platform.audit.verifyAuditChain({});
    expect(broken).toMatchObject({ intact: false, firstBrokenSequence: BigInt(target), headSequence: BigInt(target - 1) });
    expect(gw.log.lines().some((l) => l.msg === "the audit chain is broken" && l.firstBroken === String(target))).toBe(true);
    await edit(original);
    expect((await platform.audit.verifyAuditChain({})).intact).toBe(true);
  });

  it("keeps one valid chain while three replicas append at once", async () => {
    const replicas = [gw, ...(await Promise.all([1, 2].map(() => startTestGateway({ databaseUrl: database.url, adminKey: gw.adminKey, noBootstrap: true }))))];
    gateways.push(...replicas.slice(1));
    const headBefore = (await platform.audit.verifyAuditChain({})).headSequence;
    const perReplica = 25;
    await Promise.all(
      replicas.flatMap((replica, r) => {
        const c = clientsFor(replica.url, gw.adminKey);
        return Array.from({ length: perReplica }, (_, i) =>
          c.tenants.updateTeam({ team: { name: "orgs/bravo/teams/admins", labels: { replica: String(r), n: String(i) } }, updateMask: { paths: ["labels"] } }),
        );
      }),
    );
    await drained();
    const verdict = await platform.audit.verifyAuditChain({});
    expect(verdict.intact).toBe(true);
    expect(verdict.headSequence - headBefore).toBe(BigInt(3 * perReplica));
    const rows = await superuser((c) => c.query<{ n: string; max: string }>("select count(*)::text as n, max(sequence)::text as max from audit_events"));
    expect(rows.rows[0]).toEqual({ n: rows.rows[0]!.max, max: String(verdict.headSequence) });
  }, 60_000);
});
