/**
 * DeleteCredential refuses while a route uses the credential (README "Credential vault"), also
 * when a CreateRoute or UpdateRoute naming it runs at the same time: the delete and the route
 * write happen in one order or the other. Route write first: the delete sees the route and is
 * refused. Delete first: the route names a credential that is not there, as any route may (it
 * can be created again, or come from `SWITCHBOARD_CREDENTIAL_<ID>`). A check of the routes made
 * before the delete's transaction is neither: a route write committed between the check and the
 * delete leaves a route whose calls fail on a credential deleted under it.
 *
 * The interleaving is forced: another session holds the credential's row FOR UPDATE while the
 * delete starts and waits on that lock; then the route write starts and either lands (it did not
 * wait for the delete) or queues behind it; then the lock goes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientsFor, outcome, type KeyedClients } from "../../test/support/clients.js";
import { startTestGateway, type TestGateway } from "../../test/support/gateway.js";
import { pidOf, untilQueued } from "../../test/support/lock-queue.js";
import { createTestDatabase, withClient, type TestDatabase } from "../../test/support/postgres.js";

let database: TestDatabase;
let gw: TestGateway;
let admin: KeyedClients;

beforeAll(async () => {
  database = await createTestDatabase();
  gw = await startTestGateway({ databaseUrl: database.url, pool: 6 });
  admin = clientsFor(gw.url, gw.adminKey);
  await admin.tenants.createOrg({ orgId: "acme", org: {} });
}, 30_000);
afterAll(async () => {
  await gw?.close();
  await database?.drop();
});

const sandbox = { provider: "sandbox", model: "sandbox-fast" };
const using = (credential: string) => ({ provider: "openai", model: "gpt-4o-mini", credential });

/** Route writes naming `credential`: each prepares what it needs and returns the write. */
const WRITES: Record<string, (id: string, credential: string) => Promise<() => Promise<unknown>>> = {
  CreateRoute: async (id, credential) => () => admin.routes.createRoute({ parent: "orgs/acme", routeId: id, route: { targets: [using(credential)] } }),
  UpdateRoute: async (id, credential) => {
    const { route } = await admin.routes.createRoute({ parent: "orgs/acme", routeId: id, route: { targets: [sandbox] } });
    return () => admin.routes.updateRoute({ route: { name: route!.name, targets: [using(credential)] }, updateMask: { paths: ["targets"] } });
  },
};

let serial = 0;

describe("DeleteCredential and a route write naming the credential at once", () => {
  for (const [what, prepare] of Object.entries(WRITES)) {
    it(`${what}: the delete is refused if the route landed first`, async () => {
      const id = `race-${serial++}`;
      const { credential } = await admin.credentials.createCredential({ parent: "orgs/acme", credentialId: id, credential: { provider: "openai" }, value: "sk-test-0123456789" });
      const write = await prepare(id, credential!.name);

      const { landedFirst, route, deleted } = await withClient(database.url, (holder) =>
        withClient(database.url, async (watcher) => {
          const holderPid = await pidOf(holder);
          await holder.query("begin");
          try {
            expect((await holder.query("select 1 from credentials where name = $1 for update", [id])).rowCount).toBe(1);
            const deletion = outcome(admin.credentials.deleteCredential({ name: credential!.name }));
            await untilQueued(watcher, holderPid, 1);
            let settled = false;
            const routeWrite = outcome(write()).finally(() => (settled = true));
            // Queued behind the waiting delete, or done without waiting for it.
            const landedFirst = !(await untilQueued(watcher, holderPid, 2, () => settled));
            await holder.query("rollback");
            return { landedFirst, route: await routeWrite, deleted: await deletion };
          } catch (err) {
            await holder.query("rollback");
            throw err;
          }
        }),
      );

      expect(route).toBe("ok");
      if (landedFirst) {
        expect(deleted).toBe("FailedPrecondition");
        expect(await outcome(admin.credentials.getCredential({ name: credential!.name }))).toBe("ok");
      } else {
        expect(deleted).toBe("ok");
      }
    });
  }
});
