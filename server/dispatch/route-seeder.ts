import { clone, equals, fromJson, toJson, type JsonValue } from "@bufbuild/protobuf";
import { RouteSchema, type Route } from "../../gen/ts/switchboard/v1/route_service_pb.js";
import type { AuditRecord } from "../audit/audit-log.js";
import { maskedJson } from "../audit/mask.js";
import type { Logger } from "../observability/logger.js";
import type { RouteStore } from "../store/route-store.js";
import { routeSpec } from "./route-spec.js";

/** Dependencies of {@link seedConfigRoutes}. */
export interface RouteSeederDeps {
  store: Pick<RouteStore, "get" | "create" | "replaceIf">;
  logger: Logger;
  /** Records each change (actor `config`); unset: changes are only logged. */
  audit?: (record: AuditRecord) => Promise<unknown>;
}

/** What seeding did to one alias. */
export type SeedOutcome = "created" | "replaced" | "unchanged";

/** The actor of audit events written by seeding (no key made the change: the config file did). */
export const CONFIG_ACTOR = "config";

/** Read-compare-write rounds per alias before giving up (each lost round means another replica wrote). */
const MAX_ROUNDS = 5;

/**
 * Applies the config file's routes declaratively: each named global route is created when
 * missing and replaced when its stored definition differs; routes the config does not name are
 * left alone. The config wins at every start, so an admin's RouteService edit of a config-seeded
 * route lasts until the next start of any replica. Safe when several replicas start at once: a
 * create is insert-if-absent and a replace is compare-and-set on the route's revision, so each
 * change is made, and audited, exactly once. Resolves with what happened per alias.
 */
export async function seedConfigRoutes(deps: RouteSeederDeps, routes: Readonly<Record<string, Route>>): Promise<Record<string, SeedOutcome>> {
  const outcomes: Record<string, SeedOutcome> = {};
  for (const [alias, route] of Object.entries(routes)) outcomes[alias] = await seedOne(deps, alias, routeSpec(route));
  return outcomes;
}

async function seedOne(deps: RouteSeederDeps, alias: string, desired: Route): Promise<SeedOutcome> {
  const json = toJson(RouteSchema, desired);
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const existing = await deps.store.get(null, alias);
    if (existing === undefined) {
      if ((await deps.store.create(null, alias, json)) === "exists") continue;
      deps.logger.info({ route: alias }, "created route from the config file");
      await record(deps, "CreateRoute", alias, undefined, desired);
      return "created";
    }
    const current = routeSpec(fromJson(RouteSchema, existing.spec as JsonValue, { ignoreUnknownFields: true }));
    if (equals(RouteSchema, current, desired)) return "unchanged";
    if ((await deps.store.replaceIf(null, alias, existing.revision, json)) === undefined) continue;
    deps.logger.warn({ route: alias }, "replaced route with the config file's definition (the config file wins at start)");
    await record(deps, "UpdateRoute", alias, current, desired);
    return "replaced";
  }
  throw new Error(`route ${alias}: seeding from the config file lost ${MAX_ROUNDS} races with concurrent writers`);
}

async function record(deps: RouteSeederDeps, method: string, alias: string, before: Route | undefined, after: Route): Promise<void> {
  if (deps.audit === undefined) return;
  const name = `routes/${alias}`;
  const named = (route: Route): JsonValue => maskedJson(RouteSchema, { ...clone(RouteSchema, route), name });
  try {
    await deps.audit({
      actor: CONFIG_ACTOR,
      actorOrg: "",
      actorOrgId: null,
      action: `switchboard.v1.RouteService/${method}`,
      resource: name,
      before: before === undefined ? null : named(before),
      after: named(after),
      outcome: "success",
      code: "ok",
      peer: "",
      requestId: "",
      org: null,
    });
  } catch (err) {
    // The route is changed either way; the audit log already logged the event it could not write.
    deps.logger.error({ err: err instanceof Error ? err.message : String(err), route: alias }, "could not audit a config route change");
  }
}

