import { beforeAll, expect } from "vitest";
import { useMigratedDatabase } from "../../test/support/migrated-database.js";
import { createKeyStore, type KeyFields, type KeyStore } from "../store/key-store.js";
import { createTenantStore } from "../store/tenant-store.js";
import { generateSecret, parseSecret } from "./key-format.js";
import { hashSecret } from "./secret-hash.js";

/** The scope of a platform admin: every org. */
export const ALL_ORGS = { allOrgs: true } as const;

/** What {@link useAcmeKeys} gives a test file. */
export interface AcmeKeys {
  /** The real key store over the file's database (from its `beforeAll` on). */
  store(): KeyStore;
  /**
   * Creates a key in org `acme`, team `web` (named `k1`, `k2`… unless `name` is given) with a new
   * secret, or `secret` if given (as the bootstrap installs a configured one); its secret and name.
   */
  createKey(fields?: Partial<KeyFields>, name?: string, secret?: string): Promise<{ secret: string; ref: { orgName: string; teamName: string; name: string } }>;
}

/**
 * A migrated database for the test file with org `acme` and team `web`, and keys created there
 * with secrets hashed under `pepper` (the authenticator tests' setup).
 */
export function useAcmeKeys(pepper: string): AcmeKeys {
  const database = useMigratedDatabase();
  let store: KeyStore | undefined;
  let count = 0;
  beforeAll(async () => {
    store = createKeyStore(database().db);
    const tenants = createTenantStore(database().db);
    await tenants.createOrg("acme", { displayName: "Acme", labels: {} });
    await tenants.createTeam("acme", "web", ALL_ORGS, { displayName: "Web", labels: {} });
  });
  const storeOf = (): KeyStore => {
    if (store === undefined) throw new Error("useAcmeKeys: the key store is ready from the file's beforeAll on");
    return store;
  };
  return {
    store: storeOf,
    async createKey(fields = {}, name = `k${++count}`, secret = generateSecret()) {
      const outcome = await storeOf().createKey(
        { orgName: "acme", teamName: "web" },
        name,
        ALL_ORGS,
        { displayName: "", scopes: ["SCOPE_INVOKE"], allowedRoutes: [], allowedModels: [], tags: { app: "web" }, expiresAt: null, ...fields },
        { secretHmac: hashSecret(secret, pepper), displayPrefix: parseSecret(secret)!.displayPrefix },
      );
      expect(outcome.kind).toBe("created");
      return { secret, ref: { orgName: "acme", teamName: "web", name } };
    },
  };
}
