/**
 * Routes seeded from the config file (issue #4): a config route is created, replaced when it
 * differs (the config wins over an admin's edit at the next start), routes it does not name are
 * left alone, three gateways starting at once against one Postgres change a route exactly once
 * (one audit event, actor "config"), and the seeded route serves calls through the real pipeline.
 */
import { parse as parseYaml } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConfigIssue } from "../../server/config/config-error.js";
import { parseConfigRoutes, type ConfigRoutes } from "../../server/config/route-config.js";
import { create } from "@bufbuild/protobuf";
import { RouteSchema } from "../../gen/ts/switchboard/v1/route_service_pb.js";
import { createAuditLog } from "../../server/audit/audit-log.js";
import { CONFIG_ACTOR, seedConfigRoutes } from "../../server/dispatch/route-seeder.js";
import { createDatabase } from "../../server/store/database.js";
import { createRouteStore } from "../../server/store/route-store.js";
import type { FakeProvider } from "../fakes/fake-types.js";
import { startOpenAIFake } from "../fakes/openai-fake.js";
import { startTestGateway, type TestGateway, type TestGatewayOptions } from "../support/gateway.js";
import { chatMessage, createAppKey, moneyClients } from "../support/money.js";
import { createTestDatabase, type TestDatabase } from "../support/postgres.js";

function routesFrom(yaml: string): ConfigRoutes {
  const issues: ConfigIssue[] = [];
  const routes = parseConfigRoutes((parseYaml(yaml) as { routes: unknown }).routes, issues);
  expect(issues).toEqual([]);
  return routes;
}

const V1 = routesFrom(`
routes:
  fast:
    targets: [{ provider: openai, model: gpt-a, credential: credentials/openai }]
`);
const V2 = routesFrom(`
routes:
  fast:
    description: from the config file
    targets:
      - { provider: openai, model: gpt-b, credential: credentials/openai, firstTokenTimeout: 5s }
      - { provider: openai, model: gpt-c, credential: credentials/openai, priority: 1 }
    retry: { maxAttempts: 1 }
  fresh:
    targets: [{ provider: openai, model: gpt-d, credential: credentials/openai }]
`);

let database: TestDatabase;
let fake: FakeProvider;
const gateways: TestGateway[] = [];

async function start(routes: ConfigRoutes, adminKey?: string): Promise<TestGateway> {
  const opts: TestGatewayOptions = {
    databaseUrl: database.url,
    routes,
    baseUrls: { openai: `${fake.url}/v1` },
    credentials: new Map([["credentials/openai", "sk-test"]]),
    ...(adminKey === undefined ? {} : { adminKey }),
  };
  const gw = await startTestGateway(opts);
  gateways.push(gw);
  return gw;
}

const configEvents = (gw: TestGateway) => gw.server.audit.store.list({ actor: CONFIG_ACTOR }, { limit: 100 });

beforeAll(async () => {
  database = await createTestDatabase();
  fake = await startOpenAIFake();
}, 30_000);
afterAll(async () => {
  await Promise.all(gateways.map((gw) => gw.close()));
  await fake?.close();
  await database?.drop();
});

describe("routes from the config file", () => {
  it("creates, replaces once across three concurrent starts, leaves others alone, and serves calls", async () => {
    const first = await start(V1);
    const admin = moneyClients(first.url, first.adminKey);
    expect((await first.models.routeStore.get(null, "fast"))?.spec).toMatchObject({ targets: [{ model: "gpt-a" }] });
    expect((await configEvents(first)).map((e) => [e.action, e.resource])).toEqual([["switchboard.v1.RouteService/CreateRoute", "routes/fast"]]);

    // An admin edits the config-seeded route, and makes one the config does not name.
    await admin.routes.updateRoute({
      route: { name: "routes/fast", targets: [{ provider: "openai", model: "gpt-admin", credential: "credentials/openai" }] },
      updateMask: { paths: ["targets"] },
    });
    await admin.routes.createRoute({ routeId: "manual", route: { targets: [{ provider: "openai", model: "gpt-m", credential: "credentials/openai" }] } });
    const manualBefore = await first.models.routeStore.get(null, "manual");

    // Three replicas start at once with the new config.
    const replicas = await Promise.all([0, 1, 2].map(() => start(V2, first.adminKey)));
    const fast = await first.models.routeStore.get(null, "fast");
    expect(fast?.spec).toMatchObject({ description: "from the config file", targets: [{ model: "gpt-b" }, { model: "gpt-c", priority: 1 }] });
    expect(await first.models.routeStore.get(null, "manual")).toEqual(manualBefore);

    const events = await configEvents(first);
    const byAction = (action: string, resource: string) => events.filter((e) => e.action.endsWith(action) && e.resource === resource);
    expect(byAction("UpdateRoute", "routes/fast")).toHaveLength(1);
    expect(byAction("CreateRoute", "routes/fresh")).toHaveLength(1);
    expect(events).toHaveLength(3);
    const update = byAction("UpdateRoute", "routes/fast")[0]!;
    expect(update.before).toMatchObject({ targets: [{ model: "gpt-admin" }] });
    expect(update.after).toMatchObject({ name: "routes/fast", targets: [{ model: "gpt-b" }, { model: "gpt-c" }] });
    expect((await first.server.audit.verify()).intact).toBe(true);

    // The seeded route serves a call on a replica, through the whole pipeline.
    const app = await createAppKey(admin, "acme");
    fake.reset();
    const res = await moneyClients(replicas[1]!.url, app.secret).verbs.chat({ options: { route: "fast" }, messages: chatMessage("hello there") });
    expect(res.usage?.provider).toBe("openai");
    expect(res.usage?.model).toBe("gpt-b");
    expect(fake.requests().map((r) => (r.body as { model: string }).model)).toEqual(["gpt-b"]);

    // A restart with the same config changes nothing: idempotent.
    const revision = fast!.revision;
    await start(V2, first.adminKey);
    expect((await first.models.routeStore.get(null, "fast"))?.revision).toBe(revision);
    expect(await configEvents(first)).toHaveLength(3);
  }, 60_000);
});

describe("seeding from several replicas at once", () => {
  it("makes each change exactly once when three replicas seed the same routes at the same moment", async () => {
    const gw = gateways[0]!;
    const handles = await Promise.all([0, 1, 2].map(() => createDatabase({ databaseUrl: database.url, pool: 4 })));
    try {
      const config = (model: string) =>
        Object.fromEntries(
          Array.from({ length: 12 }, (_, i) => [`race-${i}`, create(RouteSchema, { targets: [{ provider: "sandbox", model: `${model}-${i}` }] })]),
        );
      const seedAll = (routes: ConfigRoutes) =>
        Promise.all(
          handles.map((h) => {
            const audit = createAuditLog({ db: h.db, logger: gw.log.logger });
            return seedConfigRoutes({ store: createRouteStore(h.db), logger: gw.log.logger, audit: (r) => audit.append(r) }, routes);
          }),
        );
      const raced = async (routes: ConfigRoutes, action: string) => {
        const before = (await configEvents(gw)).length;
        const outcomes = await seedAll(routes);
        // Newest first: the events this round wrote lead the list.
        const all = await configEvents(gw);
        const events = all.slice(0, all.length - before);
        for (let i = 0; i < 12; i++) {
          // One replica made the change; the others found it made.
          expect(outcomes.map((o) => o[`race-${i}`]).sort(), `race-${i}`).toEqual([action === "CreateRoute" ? "created" : "replaced", "unchanged", "unchanged"]);
          expect(events.filter((e) => e.resource === `routes/race-${i}` && e.action.endsWith(action)), `race-${i}`).toHaveLength(1);
        }
        expect(events).toHaveLength(12);
      };
      await raced(config("one"), "CreateRoute");
      await raced(config("two"), "UpdateRoute");
      expect((await gw.models.routeStore.get(null, "race-7"))?.spec).toMatchObject({ targets: [{ model: "two-7" }] });
    } finally {
      await Promise.all(handles.map((h) => h.close()));
    }
  }, 30_000);
});
