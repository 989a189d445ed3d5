/**
 * A route's `strategy` through RouteService: set at create, changed by an UpdateRoute that masks
 * it (and only then), a value the schema does not define refused naming the field, and what the
 * service stores resolved by dispatch as the strategy it names.
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues, type HandlerContext } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import { CreateRouteRequestSchema, GetRouteRequestSchema, Route_Strategy, RouteSchema, UpdateRouteRequestSchema } from "../../gen/ts/switchboard/v1/route_service_pb.js";
import { useMigratedDatabase } from "../../test/support/migrated-database.js";
import { testPrincipal } from "../../test/support/principal.js";
import { routeInputFromSpec } from "../dispatch/route-spec.js";
import { withDefaults } from "../dispatch/route-types.js";
import { kPrincipal } from "../interceptors/context-keys.js";
import { createRouteStore } from "../store/route-store.js";
import { createTenantStore } from "../store/tenant-store.js";
import { createRouteService } from "./route-service.js";

const admin = testPrincipal({ scopes: new Set([Scope.PLATFORM_ADMIN]) });
const ctx = { values: createContextValues().set(kPrincipal, admin) } as unknown as HandlerContext;
const catalog = { kinds: ["sandbox"], needsCredential: () => false, settings: () => [], params: () => [] };
const targets = [
  { provider: "sandbox", model: "sandbox-fast" },
  { provider: "sandbox", model: "sandbox-smart" },
];

describe("RouteService: strategy", () => {
  const database = useMigratedDatabase({ engine: "pglite" });
  const service = () => createRouteService({ routes: createRouteStore(database().db), tenants: createTenantStore(database().db), catalog });
  const get = async (name: string) => create(RouteSchema, (await service().getRoute(create(GetRouteRequestSchema, { name }), ctx)).route!);

  it("is set at create, changed only by an update that masks it, and resolved by dispatch", async () => {
    const routes = service();
    const created = await routes.createRoute(create(CreateRouteRequestSchema, { routeId: "busy", route: { targets, strategy: Route_Strategy.LEAST_BUSY } }), ctx);
    expect(created.route?.strategy).toBe(Route_Strategy.LEAST_BUSY);
    // An update of the description leaves the strategy alone, whatever the request's route holds.
    await routes.updateRoute(create(UpdateRouteRequestSchema, { route: { name: "routes/busy", description: "d", strategy: Route_Strategy.LATENCY }, updateMask: { paths: ["description"] } }), ctx);
    expect((await get("routes/busy")).strategy).toBe(Route_Strategy.LEAST_BUSY);
    const updated = await routes.updateRoute(create(UpdateRouteRequestSchema, { route: { name: "routes/busy", strategy: Route_Strategy.LATENCY }, updateMask: { paths: ["strategy"] } }), ctx);
    expect(updated.route?.strategy).toBe(Route_Strategy.LATENCY);
    expect(withDefaults(routeInputFromSpec("busy", await get("routes/busy"))).strategy).toBe("latency");
    // Masked and unset: back to the default.
    await routes.updateRoute(create(UpdateRouteRequestSchema, { route: { name: "routes/busy" }, updateMask: { paths: ["strategy"] } }), ctx);
    expect((await get("routes/busy")).strategy).toBe(Route_Strategy.UNSPECIFIED);
    expect(withDefaults(routeInputFromSpec("busy", await get("routes/busy"))).strategy).toBeUndefined();
  });

  it("refuses a value the schema does not define, naming the field", async () => {
    const routes = service();
    await routes.createRoute(create(CreateRouteRequestSchema, { routeId: "odd", route: { targets } }), ctx);
    const err = await Promise.resolve(
      routes.updateRoute(create(UpdateRouteRequestSchema, { route: { name: "routes/odd", strategy: 42 as Route_Strategy }, updateMask: { paths: ["strategy"] } }), ctx),
    ).catch((e: unknown) => ConnectError.from(e));
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
    expect((err as ConnectError).message).toMatch(/route\.strategy/);
  });
});
