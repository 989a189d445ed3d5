import { randomBytes } from "node:crypto";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogCapture } from "../../test/support/log-capture.js";
import { createDatabase, type DatabaseHandle } from "../store/database.js";
import { newId } from "../store/ids.js";
import { migrateToLatest } from "../store/migrate.js";
import { createKeyring, masterKey, type Keyring } from "./master-key.js";
import { createVault, type Vault } from "./vault.js";

/** The vault over the embedded engine (the Postgres path runs in test/integration/vault.test.ts). */
let database: DatabaseHandle;
const k1 = masterKey(randomBytes(32));
const k2 = masterKey(randomBytes(32));
const vaultWith = (keyring: Keyring, cacheTtlMs = 30_000): Vault =>
  createVault({ db: database.db, keyring, logger: createLogCapture().logger }, { cacheTtlMs });

beforeAll(async () => {
  database = await createDatabase({ dataDir: "memory://" });
  await migrateToLatest(database.db);
});
afterAll(async () => {
  await database?.close();
});

async function store(vault: Vault, name: string, value: string): Promise<string> {
  const id = newId("cred");
  const seal = vault.seal(value, { credentialId: id, orgId: null, resourceName: `credentials/${name}`, version: 1 });
  const made = await vault.credentials.create({ id, orgId: null, name, provider: "openai", displayName: "", settings: {}, fingerprint: "f", lastFour: "", seal });
  expect(made.kind).toBe("created");
  return id;
}

describe("vault on PGlite", () => {
  it("stores only ciphertext and resolves the value by name", async () => {
    const vault = vaultWith(createKeyring(k1));
    await store(vault, "alpha", "sk-pglite-CANARY-0001");
    expect(await vault.resolve("credentials/alpha")).toBe("sk-pglite-CANARY-0001");
    expect(await vault.resolve("credentials/none")).toBeUndefined();
    const { rows } = await sql<{ row: string }>`select row_to_json(c)::text as row from credentials c`.execute(database.db);
    expect(rows.map((r) => r.row).join("")).not.toContain("CANARY");
  });

  it("replaces a value only from the version it read", async () => {
    const vault = vaultWith(createKeyring(k1));
    const id = await store(vault, "beta", "sk-beta-one-000000000");
    const current = (await vault.credentials.get(null, "beta"))!;
    const seal = vault.seal("sk-beta-two-000000000", { credentialId: id, orgId: null, resourceName: "credentials/beta", version: 2 });
    const patch = { value: { fingerprint: "g", lastFour: "0000", version: 2, seal } };
    expect(await vault.credentials.update(id, current.version, patch, new Date())).toMatchObject({ before: { version: 1 }, after: { version: 2 } });
    expect(await vault.credentials.update(id, current.version, patch, new Date())).toBe("conflict");
    vault.forget("credentials/beta");
    expect(await vault.resolve("credentials/beta")).toBe("sk-beta-two-000000000");
  });

  it("re-wraps every row to the new key; then the old key is not needed, and a replica without the right key says so", async () => {
    const old = vaultWith(createKeyring(k1));
    for (let i = 0; i < 130; i++) await store(old, `bulk-${i}`, `sk-bulk-${i}-000000000000`);
    const rotating = vaultWith(createKeyring(k2, k1), 0);
    const total = (await rotating.credentials.countByMasterKey()).reduce((n, k) => n + k.count, 0);
    const result = await rotating.rewrapAll();
    expect(result).toMatchObject({ rewrapped: total, masterKeyId: k2.id });
    expect(result.missing.size).toBe(0);
    expect(await rotating.credentials.countByMasterKey()).toEqual([{ masterKeyId: k2.id, count: total }]);
    expect((await rotating.rewrapAll()).rewrapped).toBe(0);
    const fresh = vaultWith(createKeyring(k2));
    expect(await fresh.missingMasterKeys()).toEqual([]);
    expect(await fresh.resolve("credentials/bulk-7")).toBe("sk-bulk-7-000000000000");
    const stale = vaultWith(createKeyring(k1));
    expect(await stale.missingMasterKeys()).toEqual([{ masterKeyId: k2.id, count: total }]);
    const lost = await vaultWith(createKeyring(masterKey(randomBytes(32)))).rewrapAll();
    expect(lost.missing).toEqual(new Map([[k2.id, total]]));
  });
});
