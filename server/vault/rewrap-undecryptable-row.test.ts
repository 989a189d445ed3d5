import { randomBytes } from "node:crypto";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogCapture } from "../../test/support/log-capture.js";
import { createDatabase, type DatabaseHandle } from "../store/database.js";
import { newId } from "../store/ids.js";
import { migrateToLatest } from "../store/migrate.js";
import { createKeyring, masterKey, type Keyring } from "./master-key.js";
import { createVault, type Vault } from "./vault.js";

// README (rotating the master key): RewrapCredentials "re-wraps every data key with the new master
// key [...] It answers how many rows it re-wrapped". rewrap.ts reports rows it cannot re-wrap
// (`missing`) instead of failing. One row whose wrapped key does not open (a damaged or tampered
// row) must not stop every other row from being re-wrapped: otherwise the rotation can never
// finish, and step 3 (drop the previous key) refuses to start for rows that were never touched.
let database: DatabaseHandle;
const k1 = masterKey(randomBytes(32));
const k2 = masterKey(randomBytes(32));
const vaultWith = (keyring: Keyring): Vault => createVault({ db: database.db, keyring, logger: createLogCapture().logger }, { cacheTtlMs: 0 });

beforeAll(async () => {
  database = await createDatabase({ dataDir: "memory://" });
  await migrateToLatest(database.db);
});
afterAll(async () => {
  await database?.close();
});

async function store(vault: Vault, name: string, value: string): Promise<void> {
  const id = newId("cred");
  const seal = vault.seal(value, { credentialId: id, orgId: null, resourceName: `credentials/${name}`, version: 1 });
  await vault.credentials.create({ id, orgId: null, name, provider: "openai", displayName: "", settings: {}, fingerprint: "f", lastFour: "", seal });
}

describe("re-wrap with one row that does not open", () => {
  it("re-wraps every other row", async () => {
    const old = vaultWith(createKeyring(k1));
    for (let i = 0; i < 5; i++) await store(old, `row-${i}`, `sk-row-${i}-000000000000`);
    // The first row in id order is damaged: its wrapped data key no longer authenticates.
    await sql`update credentials set wrapped_key = set_byte(wrapped_key, 0, get_byte(wrapped_key, 0) # 255) where id = (select min(id) from credentials)`.execute(database.db);
    const rotating = vaultWith(createKeyring(k2, k1));
    const outcome = await rotating.rewrapAll().then((r) => r.rewrapped, (e: unknown) => e);
    const byKey = Object.fromEntries((await rotating.credentials.countByMasterKey()).map((k) => [k.masterKeyId, k.count]));
    // Rows 1..4 are fine and must now be under the new key.
    expect(byKey[k2.id], `rewrapAll gave ${String(outcome)}`).toBe(4);
  });
});
