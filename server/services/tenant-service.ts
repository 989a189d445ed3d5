import type { Validator } from "@bufbuild/protovalidate";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  CreateOrgRequestSchema,
  CreateTeamRequestSchema,
  OrgSchema,
  TeamSchema,
  TenantService,
  UpdateOrgRequestSchema,
  UpdateTeamRequestSchema,
  type Org,
  type Team,
} from "../../gen/ts/switchboard/v1/tenant_service_pb.js";
import { auditSnapshot, noteAudit } from "../audit/audit-context.js";
import { orgScopeOf, requirePlatformAdmin } from "../auth/access.js";
import type { Clock } from "../clock.js";
import { policyName } from "../guardrails/policy-resolver.js";
import type { AttachedPolicies } from "../store/guardrail-attachments.js";
import type { AttachedTemplates } from "../store/prompt-attachment-targets.js";
import type { TenantFields, TenantPatch, TenantStore } from "../store/tenant-store.js";
import { promptResourceName } from "../verbs/templates/prompt-names.js";
import { callerOf } from "./caller.js";
import { maskedFields } from "./field-mask.js";
import { createdRecord, idempotencyKey } from "./idempotency.js";
import { createMaskedUpdate } from "./masked-update.js";
import { nextPageToken, pageRequest } from "./page-token.js";
import { parseOrgName, parseTeamName } from "./resource-names.js";
import { orgMessage, teamMessage } from "./tenant-messages.js";

/** Dependencies of {@link createTenantService}. */
export interface TenantServiceDeps {
  tenants: TenantStore;
  clock: Clock;
  /** The schema's rules, for what an update leaves (best the validate interceptor's; default a new one). */
  validator?: Validator;
}

const UPDATABLE = ["display_name", "labels"] as const;

const notFound = (name: string) => new ConnectError(`${name} not found`, Code.NotFound);
const exists = (name: string) => new ConnectError(`${name} already exists`, Code.AlreadyExists);

/**
 * A delete refused while guardrail policies or prompt templates name the resource (or something
 * under it, `under`): they would outlive it — a policy listing an attachment that applies to
 * nothing, a template governing whatever is given the name next. Names a few, so the admin can
 * detach them first.
 */
function stillAttached(name: string, under: string, attached: AttachedPolicies | AttachedTemplates): ConnectError {
  const [names, one, many] =
    "policies" in attached
      ? [attached.policies.map(policyName), "guardrail policy", "guardrail policies"]
      : [attached.templates.map(promptResourceName), "prompt template", "prompt templates"];
  const more = attached.total - names.length;
  const list = `${names.join(", ")}${more > 0 ? ` and ${more} more` : ""}`;
  const which = attached.total === 1 ? one : many;
  return new ConnectError(`${name} (or ${under}) is attached to ${which} ${list}; remove those attachments first`, Code.FailedPrecondition);
}

/**
 * `switchboard.v1.TenantService`: orgs and teams. Every read and write is limited to the caller's
 * org unless it holds `SCOPE_PLATFORM_ADMIN`; anything outside is `NotFound`, exactly as if it did
 * not exist. Creating and deleting orgs needs `SCOPE_PLATFORM_ADMIN` on top of the method's scope.
 */
export function createTenantService(deps: TenantServiceDeps): ServiceImpl<typeof TenantService> {
  const now = () => new Date(deps.clock.now());
  const orgUpdate = createMaskedUpdate(UpdateOrgRequestSchema, "org", OrgSchema, deps.validator);
  const teamUpdate = createMaskedUpdate(UpdateTeamRequestSchema, "team", TeamSchema, deps.validator);
  return {
    async createOrg(req, ctx) {
      const caller = callerOf(ctx);
      requirePlatformAdmin(caller, "CreateOrg");
      const name = `orgs/${req.orgId}`;
      const key = idempotencyKey(caller, "CreateOrg", CreateOrgRequestSchema, req);
      const outcome = await deps.tenants.createOrg(req.orgId, fieldsOf(req.org), key);
      const org = createdRecord(outcome, name, () => exists(name));
      noteAudit(ctx, { resource: name, orgId: org.id, after: auditSnapshot(OrgSchema, orgMessage(org)) });
      return { org: orgMessage(org) };
    },

    async getOrg(req, ctx) {
      const org = await deps.tenants.getOrg(parseOrgName(req.name, "name"), orgScopeOf(callerOf(ctx)));
      if (org === undefined) throw notFound(req.name);
      return { org: orgMessage(org) };
    },

    async listOrgs(req, ctx) {
      const query = "ListOrgs";
      const page = await deps.tenants.listOrgs(orgScopeOf(callerOf(ctx)), pageRequest(req.pageSize, req.pageToken, query));
      return { orgs: page.items.map(orgMessage), nextPageToken: nextPageToken(page.after, query) };
    },

    async updateOrg(req, ctx) {
      const given = orgUpdate.given(req.org);
      const name = given.name;
      const orgName = parseOrgName(name, "org.name");
      const masked = maskedFields(req.updateMask, UPDATABLE);
      const scope = orgScopeOf(callerOf(ctx));
      const stored = await deps.tenants.getOrg(orgName, scope);
      if (stored === undefined) throw notFound(name);
      // The org the update leaves, checked whole; the patch takes its masked fields.
      const patch = patchOf(orgUpdate.merge(orgMessage(stored), given, masked), masked);
      const change = await deps.tenants.updateOrg(orgName, scope, patch, now());
      if (change === undefined) throw notFound(name);
      const org = change.after;
      noteAudit(ctx, { resource: name, orgId: org.id, before: auditSnapshot(OrgSchema, orgMessage(change.before)), after: auditSnapshot(OrgSchema, orgMessage(org)) });
      return { org: orgMessage(org) };
    },

    async deleteOrg(req, ctx) {
      const caller = callerOf(ctx);
      requirePlatformAdmin(caller, "DeleteOrg");
      const result = await deps.tenants.deleteOrg(parseOrgName(req.name, "name"), orgScopeOf(caller));
      if (result === "not_found") throw notFound(req.name);
      if (result === "has_teams") throw new ConnectError(`${req.name} still has teams; delete them first`, Code.FailedPrecondition);
      if (result === "has_limits_or_routes") {
        throw new ConnectError(`${req.name} still has routes, budgets or rate limits; delete them first`, Code.FailedPrecondition);
      }
      if ("total" in result) throw stillAttached(req.name, "something under it", result);
      noteAudit(ctx, { resource: req.name, orgId: result.deleted.id, before: auditSnapshot(OrgSchema, orgMessage(result.deleted)) });
      return {};
    },

    async createTeam(req, ctx) {
      const caller = callerOf(ctx);
      const orgName = parseOrgName(req.parent, "parent");
      const name = `${req.parent}/teams/${req.teamId}`;
      const key = idempotencyKey(caller, "CreateTeam", CreateTeamRequestSchema, req);
      const outcome = await deps.tenants.createTeam(orgName, req.teamId, orgScopeOf(caller), fieldsOf(req.team), key);
      const team = createdRecord(outcome, name, (rejection) => (rejection.kind === "org_not_found" ? notFound(req.parent) : exists(name)));
      noteAudit(ctx, { resource: name, orgId: team.orgId, after: auditSnapshot(TeamSchema, teamMessage(team)) });
      return { team: teamMessage(team) };
    },

    async getTeam(req, ctx) {
      const { orgName, teamName } = parseTeamName(req.name, "name");
      const team = await deps.tenants.getTeam(orgName, teamName, orgScopeOf(callerOf(ctx)));
      if (team === undefined) throw notFound(req.name);
      return { team: teamMessage(team) };
    },

    async listTeams(req, ctx) {
      const query = `ListTeams ${req.parent}`;
      const orgName = parseOrgName(req.parent, "parent");
      const page = await deps.tenants.listTeams(orgName, orgScopeOf(callerOf(ctx)), pageRequest(req.pageSize, req.pageToken, query));
      if (page === undefined) throw notFound(req.parent);
      return { teams: page.items.map(teamMessage), nextPageToken: nextPageToken(page.after, query) };
    },

    async updateTeam(req, ctx) {
      const given = teamUpdate.given(req.team);
      const name = given.name;
      const { orgName, teamName } = parseTeamName(name, "team.name");
      const masked = maskedFields(req.updateMask, UPDATABLE);
      const scope = orgScopeOf(callerOf(ctx));
      const stored = await deps.tenants.getTeam(orgName, teamName, scope);
      if (stored === undefined) throw notFound(name);
      const patch = patchOf(teamUpdate.merge(teamMessage(stored), given, masked), masked);
      const change = await deps.tenants.updateTeam(orgName, teamName, scope, patch, now());
      if (change === undefined) throw notFound(name);
      const team = change.after;
      noteAudit(ctx, { resource: name, orgId: team.orgId, before: auditSnapshot(TeamSchema, teamMessage(change.before)), after: auditSnapshot(TeamSchema, teamMessage(team)) });
      return { team: teamMessage(team) };
    },

    async deleteTeam(req, ctx) {
      const { orgName, teamName } = parseTeamName(req.name, "name");
      const result = await deps.tenants.deleteTeam(orgName, teamName, orgScopeOf(callerOf(ctx)), now());
      if (result === "not_found") throw notFound(req.name);
      if (result === "has_active_keys") {
        throw new ConnectError(`${req.name} still has active keys; revoke them first`, Code.FailedPrecondition);
      }
      if ("total" in result) throw stillAttached(req.name, "one of its keys", result);
      noteAudit(ctx, { resource: req.name, orgId: result.deleted.orgId, before: auditSnapshot(TeamSchema, teamMessage(result.deleted)) });
      return {};
    },
  };
}

function fieldsOf(resource: Org | Team | undefined): TenantFields {
  return { displayName: resource?.displayName ?? "", labels: { ...resource?.labels } };
}

function patchOf(resource: Org | Team | undefined, fields: ReadonlySet<(typeof UPDATABLE)[number]>): TenantPatch {
  const given = fieldsOf(resource);
  return {
    ...(fields.has("display_name") ? { displayName: given.displayName } : {}),
    ...(fields.has("labels") ? { labels: given.labels } : {}),
  };
}
