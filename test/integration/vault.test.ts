/**
 * The credential vault end to end on Postgres (P20, P18): write-only credentials used by real
 * provider calls, AAD binding against rows swapped by a superuser, a wrong master key, org
 * isolation, the loud 401 log, online master-key rotation under traffic, and planted canary
 * values that never reach a log, an API answer, an error or any column of any table.
 */
import { randomBytes } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import { masterKeyId } from "../../server/vault/master-key.js";
import { startOpenAIFake } from "../fakes/openai-fake.js";
import type { FakeProvider } from "../fakes/fake-types.js";
import { clientsFor, outcome, type KeyedClients } from "../support/clients.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { createTestDatabase, withClient, type TestDatabase } from "../support/postgres.js";

const K1 = randomBytes(32);
const K2 = randomBytes(32);
const canary = (label: string) => `sk-CANARY-${label}-${randomBytes(12).toString("hex")}`;

let database: TestDatabase;
let openai: FakeProvider;
let gw: TestGateway;
let admin: KeyedClients;
const gateways: TestGateway[] = [];
const canaries: string[] = [];
/** Everything callers got back: responses and errors, for the final sweep. */
const answers: string[] = [];

const json = (value: unknown) => JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
async function keep<T>(call: Promise<T>): Promise<T> {
  try {
    const res = await call;
    answers.push(json(res));
    return res;
  } catch (err) {
    const e = ConnectError.from(err);
    answers.push(json({ code: e.code, message: e.message, details: e.details, metadata: [...e.metadata] }));
    throw e;
  }
}
async function start(opts: Parameters<typeof startTestGateway>[0]): Promise<TestGateway> {
  const g = await startTestGateway({ databaseUrl: database.url, adminKey: gw?.adminKey, baseUrls: { openai: `${openai.url}/v1` }, ...opts });
  gateways.push(g);
  return g;
}
const superuser = <T>(work: (client: pg.Client) => Promise<T>): Promise<T> => withClient(database.url, work);
const authorizationOf = (i: number) => openai.requests()[i]?.headers.authorization;
const summarize = (c: KeyedClients, route = "ext") => keep(c.capability.summarize({ options: { route }, text: "Switchboard keeps provider keys in a vault." }));

beforeAll(async () => {
  database = await createTestDatabase();
  openai = await startOpenAIFake();
  gw = await start({ masterKeys: { current: K1 } });
  admin = clientsFor(gw.url, gw.adminKey);
});
afterAll(async () => {
  for (const g of gateways) await g.close();
  await openai?.close();
  await database?.drop();
});

describe("credential vault", () => {
  it("stores a credential write-only and dispatch uses it; a new value takes effect at once", async () => {
    const value = canary("openai");
    canaries.push(value);
    const created = await keep(
      admin.credentials.createCredential({ credentialId: "openai", credential: { provider: "openai", displayName: "OpenAI prod", settings: { organization: "org-1" } }, value, requestId: "c1" }),
    );
    expect(created.credential).toMatchObject({
      name: "credentials/openai",
      provider: "openai",
      settings: { organization: "org-1" },
      lastFour: value.slice(-4),
      masterKeyId: masterKeyId(K1),
    });
    expect(created.credential?.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    // A retried create answers as the first did; the same id with another value is refused.
    expect((await keep(admin.credentials.createCredential({ credentialId: "openai", credential: { provider: "openai", displayName: "OpenAI prod", settings: { organization: "org-1" } }, value, requestId: "c1" }))).credential?.name).toBe("credentials/openai");
    expect(await outcome(keep(admin.credentials.createCredential({ credentialId: "openai", credential: { provider: "openai" }, value: canary("other"), requestId: "c1" })))).toBe("FailedPrecondition");
    expect(await outcome(keep(admin.credentials.createCredential({ credentialId: "x", credential: { provider: "opnai" }, value: "v" })))).toBe("InvalidArgument");

    await keep(admin.routes.createRoute({ routeId: "ext", route: { targets: [{ provider: "openai", model: "gpt-4o-mini", credential: "credentials/openai" }] } }));
    await gw.models.resolver.refresh();
    openai.reset();
    await summarize(admin);
    expect(authorizationOf(0)).toBe(`Bearer ${value}`);

    const got = await keep(admin.credentials.getCredential({ name: "credentials/openai" }));
    const listed = await keep(admin.credentials.listCredentials({}));
    expect(listed.credentials.map((c) => c.name)).toEqual(["credentials/openai"]);
    expect(json(got) + json(listed)).not.toContain(value);

    const replaced = canary("openai-v2");
    canaries.push(replaced);
    const updated = await keep(
      admin.credentials.updateCredential({ credential: { name: "credentials/openai" }, updateMask: { paths: ["value"] }, value: replaced }),
    );
    expect(updated.credential?.fingerprint).not.toBe(created.credential?.fingerprint);
    expect(updated.credential?.displayName).toBe("OpenAI prod");
    expect(await outcome(keep(admin.credentials.updateCredential({ credential: { name: "credentials/openai" }, updateMask: { paths: ["display_name"] }, value: "stray" })))).toBe("InvalidArgument");
    await summarize(admin);
    expect(authorizationOf(1)).toBe(`Bearer ${replaced}`);
  });

  it("refuses to delete a credential a route uses", async () => {
    await keep(admin.credentials.createCredential({ credentialId: "spare", credential: { provider: "anthropic" }, value: canary("spare") }));
    await keep(admin.routes.createRoute({ routeId: "spare", route: { targets: [{ provider: "anthropic", model: "claude-haiku-4-5", credential: "credentials/spare" }] } }));
    const err = await keep(admin.credentials.deleteCredential({ name: "credentials/spare" })).catch((e: ConnectError) => e);
    expect(err).toMatchObject({ code: Code.FailedPrecondition, rawMessage: expect.stringContaining("routes/spare") });
    await keep(admin.routes.deleteRoute({ name: "routes/spare" }));
    await keep(admin.credentials.deleteCredential({ name: "credentials/spare" }));
    expect(await outcome(keep(admin.credentials.getCredential({ name: "credentials/spare" })))).toBe("NotFound");
  });

  it("decrypts a credential only for its own row: ciphertexts swapped by a superuser fail, with no plaintext", async () => {
    const [a, b] = [canary("row-a"), canary("row-b")];
    canaries.push(a, b);
    await keep(admin.credentials.createCredential({ credentialId: "row-a", credential: { provider: "openai" }, value: a }));
    await keep(admin.credentials.createCredential({ credentialId: "row-b", credential: { provider: "openai" }, value: b }));
    const swap = (parts: string) =>
      superuser((c) =>
        c.query(`update credentials t set ${parts.split(",").map((p) => `${p} = s.${p}`).join(", ")}
                 from (select case name when 'row-a' then 'row-b' else 'row-a' end as target, ${parts} from credentials where name in ('row-a', 'row-b')) s
                 where t.name = s.target`),
      );
    for (const parts of ["ciphertext,value_nonce", "wrapped_key,key_nonce", "ciphertext,value_nonce,wrapped_key,key_nonce,master_key_id"]) {
      await swap(parts);
      for (const name of ["credentials/row-a", "credentials/row-b"]) {
        gw.vault.forget(name);
        const err = await gw.vault.resolve(name).then(() => undefined, (e: unknown) => e as Error);
        expect(err, `${parts} ${name}`).toBeInstanceOf(Error);
        expect(err!.message).toMatch(/does not decrypt/);
        expect(err!.message).not.toContain(a);
        expect(err!.message).not.toContain(b);
      }
      await swap(parts);
    }
    // Swapped back, each decrypts to its own value again.
    gw.vault.forget("credentials/row-a");
    expect(await gw.vault.resolve("credentials/row-a")).toBe(a);

    // Through the gateway: the call fails without reaching the provider and without the value.
    await swap("ciphertext,value_nonce,wrapped_key,key_nonce");
    await keep(admin.routes.createRoute({ routeId: "swapped", route: { targets: [{ provider: "openai", model: "gpt-4o-mini", credential: "credentials/row-a" }] } }));
    await gw.models.resolver.refresh();
    gw.vault.forget("credentials/row-a");
    openai.reset();
    expect(await outcome(summarize(admin, "swapped"))).not.toBe("ok");
    expect(openai.requests()).toHaveLength(0);
    expect(gw.log.lines().some((l) => l.msg === "credential cannot be decrypted" && l.credential === "credentials/row-a")).toBe(true);
    expect(gw.log.lines().some((l) => l.msg === "the credential could not be read: it is missing, or does not decrypt" && l.credential === "credentials/row-a")).toBe(true);
    await swap("ciphertext,value_nonce,wrapped_key,key_nonce");
  });

  it("does not decrypt with a wrong master key, and says which key is missing", async () => {
    const wrong = await start({ masterKeys: { current: randomBytes(32) }, noBootstrap: true });
    const missing = await wrong.vault.missingMasterKeys();
    expect(missing).toEqual([{ masterKeyId: masterKeyId(K1), count: expect.any(Number) }]);
    await expect(wrong.vault.resolve("credentials/openai")).rejects.toThrow(`wrapped by master key ${masterKeyId(K1)}, which this replica does not hold`);
  });

  it("keeps orgs apart: another org's credentials are NotFound, global ones need the platform scope, routes cannot borrow them", async () => {
    const scopes = [Scope.TENANTS_READ, Scope.CREDENTIALS_READ, Scope.CREDENTIALS_WRITE, Scope.ROUTES_READ, Scope.ROUTES_WRITE, Scope.INVOKE];
    const orgAdmin: Record<string, KeyedClients> = {};
    for (const org of ["alpha", "bravo"]) {
      await admin.tenants.createOrg({ orgId: org, org: {} });
      await admin.tenants.createTeam({ parent: `orgs/${org}`, teamId: "admins", team: {} });
      const key = await admin.keys.createKey({ parent: `orgs/${org}/teams/admins`, keyId: "admin", key: { scopes } });
      orgAdmin[org] = clientsFor(gw.url, key.secret);
      const value = canary(org);
      canaries.push(value);
      await keep(orgAdmin[org]!.credentials.createCredential({ parent: `orgs/${org}`, credentialId: "openai", credential: { provider: "openai" }, value }));
    }
    const a = orgAdmin.alpha!;
    expect((await keep(a.credentials.listCredentials({ parent: "orgs/alpha" }))).credentials.map((c) => c.name)).toEqual(["orgs/alpha/credentials/openai"]);
    const attempts: Array<() => Promise<unknown>> = [
      () => a.credentials.listCredentials({ parent: "orgs/bravo" }),
      () => a.credentials.getCredential({ name: "orgs/bravo/credentials/openai" }),
      () => a.credentials.updateCredential({ credential: { name: "orgs/bravo/credentials/openai", displayName: "mine" }, updateMask: { paths: ["display_name"] } }),
      () => a.credentials.deleteCredential({ name: "orgs/bravo/credentials/openai" }),
      () => a.credentials.createCredential({ parent: "orgs/bravo", credentialId: "planted", credential: { provider: "openai" }, value: "v" }),
    ];
    for (const call of attempts) expect(await outcome(keep(call()))).toBe("NotFound");
    expect(await outcome(keep(a.credentials.listCredentials({})))).toBe("PermissionDenied");
    expect(await outcome(keep(a.credentials.getCredential({ name: "credentials/openai" })))).toBe("PermissionDenied");
    expect(await outcome(keep(a.credentials.rewrapCredentials({})))).toBe("PermissionDenied");
    // A route may use global credentials and its own org's, not another org's.
    const target = (credential: string) => ({ targets: [{ provider: "openai", model: "gpt-4o-mini", credential }] });
    const borrowed = await keep(a.routes.createRoute({ parent: "orgs/alpha", routeId: "borrow", route: target("orgs/bravo/credentials/openai") })).catch((e: ConnectError) => e);
    expect(borrowed).toMatchObject({ code: Code.InvalidArgument, rawMessage: expect.stringContaining("route.targets[0].credential") });
    expect(await outcome(keep(admin.routes.createRoute({ routeId: "global-borrow", route: target("orgs/alpha/credentials/openai") })))).toBe("InvalidArgument");
    expect(await outcome(keep(a.routes.createRoute({ parent: "orgs/alpha", routeId: "own", route: target("orgs/alpha/credentials/openai") })))).toBe("ok");
    expect(await outcome(keep(a.routes.createRoute({ parent: "orgs/alpha", routeId: "shared", route: target("credentials/openai") })))).toBe("ok");
  });

  it("logs a provider's 401 on a credential loudly, by name, without the value", async () => {
    openai.reset();
    openai.script({ fault: { kind: "status", status: 401, message: "Incorrect API key provided" } });
    expect(await outcome(summarize(admin))).not.toBe("ok");
    const line = gw.log.lines().find((l) => l.msg === "the provider rejected the credential: check or replace it");
    expect(line).toMatchObject({ level: "error", credential: "credentials/openai", provider: "openai", httpStatus: 401, route: "ext" });
  });

  it("rotates the master key online: a re-wrap under traffic on two replicas loses nothing", async () => {
    // Enough rows for several pages of the re-wrap.
    for (let i = 0; i < 240; i += 20) {
      await Promise.all(
        Array.from({ length: 20 }, (_, j) => {
          const value = canary(`bulk-${i + j}`);
          canaries.push(value);
          return keep(admin.credentials.createCredential({ credentialId: `bulk-${i + j}`, credential: { provider: "openai" }, value }));
        }),
      );
    }
    const total = (await superuser((c) => c.query<{ n: string }>("select count(*)::text as n from credentials"))).rows[0]!.n;
    // Replicas rolled to the new key first (the old one kept as previous); no decrypted-value
    // cache, so every call reads and decrypts the row while it is being re-wrapped.
    const rotating = { masterKeys: { current: K2, previous: K1 }, credentialCacheTtlMs: 0, noBootstrap: true };
    const [r1, r2] = [await start(rotating), await start(rotating)];
    for (const r of [r1, r2]) await r.models.resolver.refresh();
    const clients = [clientsFor(r1.url, gw.adminKey), clientsFor(r2.url, gw.adminKey)];
    const expected = `Bearer ${await r1.vault.resolve("credentials/openai")}`;
    openai.reset();
    let running = true;
    const failures: string[] = [];
    const done: number[] = [];
    const loop = async (c: KeyedClients) => {
      while (running) {
        await summarize(c).then(
          () => done.push(Date.now()),
          (e: unknown) => failures.push(String(e)),
        );
      }
    };
    const loops = [loop(clients[0]!), loop(clients[0]!), loop(clients[1]!), loop(clients[1]!)];
    await new Promise((r) => setTimeout(r, 150));
    const started = Date.now();
    const result = await keep(clients[0]!.credentials.rewrapCredentials({}));
    const ended = Date.now();
    await new Promise((r) => setTimeout(r, 150));
    running = false;
    await Promise.all(loops);

    expect(failures).toEqual([]);
    expect(done.filter((t) => t >= started && t <= ended).length).toBeGreaterThan(0);
    expect(done.filter((t) => t > ended).length).toBeGreaterThan(0);
    expect(result).toMatchObject({ rewrapped: BigInt(total), masterKeyId: masterKeyId(K2) });
    expect(openai.requests().every((r) => r.headers.authorization === expected)).toBe(true);
    const left = await superuser((c) => c.query("select name from credentials where master_key_id <> $1", [masterKeyId(K2)]));
    expect(left.rows).toEqual([]);
    // Again: nothing left to do.
    expect((await keep(clients[1]!.credentials.rewrapCredentials({}))).rewrapped).toBe(0n);
    // The old key can go: a replica with the new key alone serves everything.
    const fresh = await start({ masterKeys: { current: K2 }, noBootstrap: true });
    expect(await fresh.vault.missingMasterKeys()).toEqual([]);
    await fresh.models.resolver.refresh();
    expect(await outcome(summarize(clientsFor(fresh.url, gw.adminKey)))).toBe("ok");
  }, 60_000);

  it("never lets a planted value reach a log, an answer, an error, or any column of any table", async () => {
    for (const g of gateways) await g.server.audit.drain();
    const dump = await superuser(async (c) => {
      const { rows: tables } = await c.query<{ table_name: string }>("select table_name from information_schema.tables where table_schema = 'public'");
      const out: string[] = [];
      for (const { table_name } of tables) out.push(...(await c.query<{ row: string }>(`select row_to_json(t)::text as row from "${table_name}" t`)).rows.map((r) => r.row));
      return out.join("\n");
    });
    expect(dump).toContain("credentials/openai");
    const sinks: Record<string, string> = { logs: gateways.map((g) => g.log.text()).join("\n"), answers: answers.join("\n"), database: dump };
    expect(canaries.length).toBeGreaterThan(5);
    for (const value of canaries) {
      for (const [sink, text] of Object.entries(sinks)) expect(text.includes(value), `${sink} holds a planted value`).toBe(false);
    }
  });
});
