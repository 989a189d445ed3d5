import { createClient, createRouterTransport, type Interceptor, type ServiceImpl } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CapabilityService } from "../../gen/ts/switchboard/v1/capability_service_pb.js";
import { createLogCapture } from "../../test/support/log-capture.js";
import { createTestDatabase, type TestDatabase } from "../../test/support/postgres.js";
import type { Principal } from "../auth/principal.js";
import { createDatabase, type DatabaseHandle } from "../store/database.js";
import { migrateToLatest } from "../store/migrate.js";
import { createVerbIdempotencyStore } from "../store/verb-idempotency-store.js";
import { kPrincipal } from "./context-keys.js";
import { createVerbIdempotencyInterceptor, REPLAYED_HEADER, withIdempotentReplay } from "./verb-idempotency.js";

let testDb: TestDatabase;
let handle: DatabaseHandle;

beforeAll(async () => {
  testDb = await createTestDatabase();
  handle = await createDatabase({ databaseUrl: testDb.url, pool: 4 });
  await migrateToLatest(handle.db);
});
afterAll(async () => {
  await handle.close();
  await testDb.drop();
});

const principal: Principal = {
  orgId: "org_a",
  teamId: "team_a",
  keyId: "key_a",
  keyName: "orgs/a/teams/a/keys/a",
  scopes: new Set(),
  allowedRoutes: [],
  allowedModels: [],
  tags: {},
};
const authenticated: Interceptor = (next) => (req) => {
  req.contextValues.set(kPrincipal, principal);
  return next(req);
};

describe("verb idempotency interceptor", () => {
  it("keeps the answer of the call that took over an expired lease when the first call ends late", async () => {
    const log = createLogCapture();
    // Each Chat answers with the name it is given, once the test lets it finish.
    const pending: Array<(name: string) => void> = [];
    const transport = createRouterTransport(
      ({ service }) =>
        service(
          CapabilityService,
          // Only Chat is called; the replay wrapper leaves the other methods out.
          withIdempotentReplay(CapabilityService, {
            chat: () => new Promise((resolve) => pending.push((name) => resolve({ message: { name } }))),
          } as Partial<ServiceImpl<typeof CapabilityService>> as ServiceImpl<typeof CapabilityService>),
        ),
      {
        router: {
          interceptors: [
            authenticated,
            createVerbIdempotencyInterceptor({ store: createVerbIdempotencyStore(handle.db), logger: log.logger }, { services: [CapabilityService], leaseMs: 30 }),
          ],
        },
      },
    );
    const client = createClient(CapabilityService, transport);
    const request = { options: { idempotencyKey: "slow-1" }, messages: [{ name: "hi" }] };
    const running = async (calls: number) => {
      while (pending.length < calls) await new Promise((resolve) => setTimeout(resolve, 5));
    };

    const first = client.chat(request);
    await running(1);
    await new Promise((resolve) => setTimeout(resolve, 60)); // the first call outlives its lease
    const second = client.chat(request);
    await running(2);
    pending[1]!("second");
    expect((await second).message?.name).toBe("second");
    pending[0]!("first");
    expect((await first).message?.name).toBe("first");

    let header: Headers | undefined;
    const repeat = await client.chat(request, { onHeader: (h) => (header = h) });
    expect(repeat.message?.name).toBe("second");
    expect(header?.get(REPLAYED_HEADER)).toBe("true");
    const lost = log.lines().find((l) => String(l.msg).includes("outlived its lease"));
    expect(lost).toMatchObject({ level: "warn", orgId: "org_a", method: "Chat" });
    expect(log.text()).not.toContain("slow-1");
  });
});
