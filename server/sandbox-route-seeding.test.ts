import { describe, expect, it } from "vitest";
import { createModelLayer } from "./model-layer.js";
import { createCredentialStore } from "./store/credential-store.js";
import { createLogCapture } from "../test/support/log-capture.js";
import { useMigratedDatabase } from "../test/support/migrated-database.js";

// README "Calling the verbs": "With no provider credential configured, the embedded default seeds
// sandbox routes"; DESIGN: the sandbox "is never chosen when a real credential exists unless a
// route names it". The README also tells users to keep provider keys in the credential vault. A
// gateway whose only credentials are in the vault must not (re)create the sandbox routes at start:
// an admin who deleted `default` would otherwise find it back after a restart, answering every
// call without a route with simulated text.
describe("sandbox route seeding at start", () => {
  const database = useMigratedDatabase();

  it("seeds nothing when the credential vault holds a credential (none in the environment)", async () => {
    const db = database().db;
    const seal = { masterKeyId: "mk-000000000000", wrappedKey: Buffer.alloc(48, 1), keyNonce: Buffer.alloc(12, 2), ciphertext: Buffer.alloc(32, 3), valueNonce: Buffer.alloc(12, 4) };
    await createCredentialStore(db).create({ id: "cred_1", orgId: null, name: "openai", provider: "openai", displayName: "", settings: {}, fingerprint: "f", lastFour: "", seal });
    const layer = await createModelLayer({ db, logger: createLogCapture().logger, credentials: new Map() });
    try {
      expect(await layer.routeStore.get(null, "default")).toBeUndefined();
      expect(await layer.routeStore.get(null, "fast")).toBeUndefined();
    } finally {
      await layer.close();
    }
  });
});

describe("sandbox route seeding on a fresh install", () => {
  const database = useMigratedDatabase();

  it("still seeds the sandbox routes when no credential exists anywhere", async () => {
    const layer = await createModelLayer({ db: database().db, logger: createLogCapture().logger, credentials: new Map() });
    try {
      expect((await layer.routeStore.get(null, "default"))?.alias).toBe("default");
    } finally {
      await layer.close();
    }
  });
});
