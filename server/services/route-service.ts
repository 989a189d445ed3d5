import { create, fromJson, toJson, type JsonValue } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Validator } from "@bufbuild/protovalidate";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { CreateRouteRequestSchema, RouteSchema, RouteService, UpdateRouteRequestSchema, type Route } from "../../gen/ts/switchboard/v1/route_service_pb.js";
import { auditSnapshot, noteAudit } from "../audit/audit-context.js";
import { orgScopeOf, requirePlatformAdmin } from "../auth/access.js";
import type { Principal } from "../auth/principal.js";
import { routeSpec, validateRoute, type ProviderCatalog } from "../dispatch/route-spec.js";
import { fieldViolation, fieldViolations } from "../errors/field-violation.js";
import type { RouteRecord, RouteStore } from "../store/route-store.js";
import type { TenantStore } from "../store/tenant-store.js";
import { credentialUsableBy } from "../vault/credential-names.js";
import { callerOf } from "./caller.js";
import { maskedFields } from "./field-mask.js";
import { createdRecord, idempotencyKey } from "./idempotency.js";
import { createMaskedUpdate } from "./masked-update.js";
import { nextPageToken, pageRequest } from "./page-token.js";
import { parseOrgName } from "./resource-names.js";

/** Dependencies of {@link createRouteService}. */
export interface RouteServiceDeps {
  routes: RouteStore;
  tenants: TenantStore;
  catalog: ProviderCatalog;
  /** The schema's rules, for what an update leaves (best the validate interceptor's; default a new one). */
  validator?: Validator;
}

const UPDATABLE = ["description", "targets", "retry", "hedge", "breaker", "timeout", "cache", "default_max_output_tokens", "strategy"] as const;
const ROUTE_NAME = /^(?:orgs\/([a-z0-9][a-z0-9-]{0,62})\/)?routes\/([a-z0-9][a-z0-9._-]{0,62})$/;

/** Where a route lives: global (`orgId` null) or in one org. */
interface RouteScope {
  orgId: string | null;
  orgName: string | null;
}

/**
 * RouteService: CRUD over routes. Global routes (`routes/{alias}`) are readable by every caller
 * with the read scope and writable only by platform admins; an org's routes are confined to that
 * org (another org's are reported as not found). Every write is validated beyond protovalidate
 * (provider kinds, credentials, backoff bounds) with the exact field named, and reaches every
 * replica within the route resolver's poll interval.
 */
export function createRouteService(deps: RouteServiceDeps): ServiceImpl<typeof RouteService> {
  const routeUpdate = createMaskedUpdate(UpdateRouteRequestSchema, "route", RouteSchema, deps.validator);
  const scopeOf = async (principal: Principal, parent: string, write: boolean): Promise<RouteScope> => {
    if (parent === "") {
      if (write) requirePlatformAdmin(principal, "changing a global route");
      return { orgId: null, orgName: null };
    }
    const orgName = parseOrgName(parent, "parent");
    const org = await deps.tenants.getOrg(orgName, orgScopeOf(principal));
    if (org === undefined) throw new ConnectError(`org ${parent} not found`, Code.NotFound);
    return { orgId: org.id, orgName: org.name };
  };
  // `field` is where the caller put the name: `route.name` in an update, whose request has no `name`.
  const parseName = (name: string, field: string) => {
    const match = ROUTE_NAME.exec(name);
    if (match === null) throw fieldViolation(field, "must be routes/{route} or orgs/{org}/routes/{route}", "resource_name.form");
    return { parent: match[1] === undefined ? "" : `orgs/${match[1]}`, alias: match[2]! };
  };
  const check = (route: Route, field: string, scope: RouteScope) => {
    const issues = validateRoute(route, deps.catalog);
    // A route may spend only global credentials and its own org's, never another org's.
    route.targets.forEach((t, i) => {
      if (t.credential !== "" && !credentialUsableBy(t.credential, scope.orgName)) {
        const allowed = scope.orgName === null ? "credentials/{id}" : `credentials/{id} or orgs/${scope.orgName}/credentials/{id}`;
        issues.push({
          path: `targets[${i}].credential`,
          message: `a ${scope.orgName === null ? "global" : "org"} route may use only ${allowed}`,
          ruleId: "route.target.credential.scope",
        });
      }
    });
    if (issues.length > 0) throw fieldViolations(issues.map((i) => ({ field: `${field}.${i.path}`, message: i.message, ruleId: i.ruleId })));
  };
  /** The route a name points at, as the caller may see it: its scope and alias, not read yet. */
  const locate = async (ctx: HandlerContext, name: string, write: boolean, field = "name") => {
    const { parent, alias } = parseName(name, field);
    return { scope: await scopeOf(callerOf(ctx), parent, write), alias };
  };
  const load = async (ctx: HandlerContext, name: string, write: boolean, field = "name") => {
    const { scope, alias } = await locate(ctx, name, write, field);
    const record = await deps.routes.get(scope.orgId, alias);
    if (record === undefined) throw new ConnectError(`route ${name} not found`, Code.NotFound);
    return { scope, alias, record };
  };

  return {
    async createRoute(req, ctx) {
      const scope = await scopeOf(callerOf(ctx), req.parent, true);
      const route = routeSpec(req.route ?? create(RouteSchema));
      check(route, "route", scope);
      const name = nameOf(scope, req.routeId);
      const key = idempotencyKey(callerOf(ctx), "CreateRoute", CreateRouteRequestSchema, req);
      const outcome = await deps.routes.createOnce(scope.orgId, req.routeId, toJson(RouteSchema, route), key);
      const created = createdRecord(outcome, name, () => new ConnectError(`route ${name} already exists`, Code.AlreadyExists));
      noteAudit(ctx, { resource: name, orgId: scope.orgId, after: auditSnapshot(RouteSchema, toRoute(created)) });
      return { route: toRoute(created) };
    },
    async getRoute(req, ctx) {
      const { record } = await load(ctx, req.name, false);
      return { route: toRoute(record) };
    },
    async listRoutes(req, ctx) {
      const scope = await scopeOf(callerOf(ctx), req.parent, false);
      const page = await deps.routes.list(scope.orgId, pageRequest(req.pageSize, req.pageToken, `routes:${req.parent}`));
      return { routes: page.items.map(toRoute), nextPageToken: nextPageToken(page.after, `routes:${req.parent}`) };
    },
    async updateRoute(req, ctx) {
      const given = routeUpdate.given(req.route);
      const fields = maskedFields(req.updateMask, UPDATABLE);
      const { scope, alias, record } = await load(ctx, given.name, true, "route.name");
      const next = routeSpec(routeUpdate.merge(toRoute(record), given, fields));
      check(next, "route", scope);
      // Only over the revision `next` was merged from: a write in between would otherwise be
      // reverted in every field this mask does not name.
      const updated = await deps.routes.replaceIf(scope.orgId, alias, record.revision, toJson(RouteSchema, next));
      if (updated === undefined) {
        if ((await deps.routes.get(scope.orgId, alias)) === undefined) throw new ConnectError(`route ${given.name} not found`, Code.NotFound);
        throw new ConnectError(`route ${given.name} was changed concurrently; read it again and retry`, Code.Aborted);
      }
      noteAudit(ctx, { resource: given.name, orgId: scope.orgId, before: auditSnapshot(RouteSchema, toRoute(updated.before)), after: auditSnapshot(RouteSchema, toRoute(updated.after)) });
      return { route: toRoute(updated.after) };
    },
    async deleteRoute(req, ctx) {
      // The delete reads the route itself, locked: no such route is `undefined` there.
      const { scope, alias } = await locate(ctx, req.name, true);
      const deleted = await deps.routes.delete(scope.orgId, alias);
      if (deleted === undefined) throw new ConnectError(`route ${req.name} not found`, Code.NotFound);
      noteAudit(ctx, { resource: req.name, orgId: scope.orgId, before: auditSnapshot(RouteSchema, toRoute(deleted)) });
      return {};
    },
  };
}

function nameOf(scope: RouteScope, alias: string): string {
  return routeName(scope.orgName, alias);
}

/** The resource name of route `alias` of org `orgName` (null: a global route). */
export function routeName(orgName: string | null, alias: string): string {
  return orgName === null ? `routes/${alias}` : `orgs/${orgName}/routes/${alias}`;
}

/** A stored route as the API returns it. */
export function toRoute(record: RouteRecord): Route {
  const route = fromJson(RouteSchema, record.spec as JsonValue, { ignoreUnknownFields: true });
  route.name = nameOf({ orgId: record.orgId, orgName: record.orgName }, record.alias);
  route.createTime = timestampFromDate(record.createdAt);
  route.updateTime = timestampFromDate(record.updatedAt);
  return route;
}
