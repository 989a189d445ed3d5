import { clone, create, fromJson, toJson, type JsonValue } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Validator } from "@bufbuild/protovalidate";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { GuardrailStage } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import {
  CreateGuardrailPolicyRequestSchema,
  GuardrailAction,
  GuardrailPolicySchema,
  GuardrailService,
  UpdateGuardrailPolicyRequestSchema,
  type GuardrailPolicy,
} from "../../gen/ts/switchboard/v1/guardrail_service_pb.js";
import { auditSnapshot, noteAudit } from "../audit/audit-context.js";
import { orgScopeOf, requirePlatformAdmin } from "../auth/access.js";
import { isPlatformAdmin, type Principal } from "../auth/principal.js";
import { fieldViolation } from "../errors/field-violation.js";
import { evaluateText } from "../guardrails/evaluate.js";
import { createPlaceholders } from "../guardrails/placeholders.js";
import { compilePolicy, PolicyError, type CompiledPolicy } from "../guardrails/policy.js";
import { policyName } from "../guardrails/policy-resolver.js";
import { createEgressPolicy, type EgressPolicy } from "../http/egress-policy.js";
import type { GuardrailPolicyRecord, GuardrailPolicyStore } from "../store/guardrail-policy-store.js";
import type { KeyStore } from "../store/key-store.js";
import type { GuardrailAttachmentRow } from "../store/schema.js";
import type { TenantStore } from "../store/tenant-store.js";
import { callerOf } from "./caller.js";
import { maskedFields } from "./field-mask.js";
import { createdRecord, idempotencyKey } from "./idempotency.js";
import { createMaskedUpdate } from "./masked-update.js";
import { nextPageToken, pageRequest } from "./page-token.js";
import { parseOrgName } from "./resource-names.js";
import { visibleAttachments } from "./visible-attachments.js";

/** Dependencies of {@link createGuardrailService}. */
export interface GuardrailServiceDeps {
  policies: GuardrailPolicyStore;
  tenants: Pick<TenantStore, "getOrg" | "getTeam">;
  keys: Pick<KeyStore, "getKey">;
  /** Reloads this replica's policies after a write (the others follow within their poll). */
  refresh?: () => Promise<void>;
  /** Judges external rules' literal hosts when they are written (default: the default policy). */
  egress?: EgressPolicy;
  /** The schema's rules, for what an update leaves (best the validate interceptor's; default a new one). */
  validator?: Validator;
}

const UPDATABLE = ["description", "rules", "attachments", "enabled", "analyzer_fail_open"] as const;
const SEGMENT = "[a-z0-9][a-z0-9-]{0,62}";
const POLICY_NAME = new RegExp(`^(?:orgs/(${SEGMENT})/)?guardrail-policies/(${SEGMENT})$`);
const ATTACHMENT = new RegExp(`^(?:orgs/(${SEGMENT})(?:/teams/(${SEGMENT})(?:/keys/(${SEGMENT}))?|/routes/([a-z0-9][a-z0-9._-]{0,62}))?|routes/([a-z0-9][a-z0-9._-]{0,62}))$`);
const ATTACHMENT_FORMS = "orgs/{org}, orgs/{org}/teams/{team}, orgs/{org}/teams/{team}/keys/{key}, routes/{route} or orgs/{org}/routes/{route}";

interface Scope {
  orgId: string | null;
  orgName: string | null;
}

/**
 * `switchboard.v1.GuardrailService`: CRUD of guardrail policies and a dry run on sample text.
 * Global policies (`guardrail-policies/{id}`) are readable by every caller with the read scope
 * and writable by platform admins; an org's policies are confined to that org (another org's are
 * NotFound) and attach only to that org's resources or to global routes — and then apply only to
 * that org's calls. Every rule is compiled on write (a regex outside the linear-time subset is
 * InvalidArgument naming `policy.rules[i].regex.pattern`), every attachment resolved to the id
 * the request path matches on (and held: the org or team cannot be deleted while attached), and
 * the change reaches every replica within its poll interval.
 */
export function createGuardrailService(deps: GuardrailServiceDeps): ServiceImpl<typeof GuardrailService> {
  const egress = deps.egress ?? createEgressPolicy();
  const policyUpdate = createMaskedUpdate(UpdateGuardrailPolicyRequestSchema, "policy", GuardrailPolicySchema, deps.validator);
  // Early feedback only: each call judges the address the service's host resolves to then.
  const checkExternalUrls = (policy: GuardrailPolicy) => {
    policy.rules.forEach((rule, i) => {
      if (rule.check.case !== "external") return;
      const refused = egress.urlRefusal(rule.check.value.url);
      if (refused !== undefined) throw fieldViolation(`policy.rules[${i}].external.url`, `refused by the egress policy: ${refused}`, "url.egress");
    });
  };
  const scopeOf = async (principal: Principal, parent: string, write: boolean): Promise<Scope> => {
    if (parent === "") {
      if (write) requirePlatformAdmin(principal, "changing a global guardrail policy");
      return { orgId: null, orgName: null };
    }
    const org = await deps.tenants.getOrg(parseOrgName(parent, "parent"), orgScopeOf(principal));
    if (org === undefined) throw new ConnectError(`org ${parent} not found`, Code.NotFound);
    return { orgId: org.id, orgName: org.name };
  };
  // `field` is where the caller put the name: `policy.name` in an update, whose request has no `name`.
  const load = async (ctx: HandlerContext, name: string, write: boolean, field = "name") => {
    const match = POLICY_NAME.exec(name);
    if (match === null) throw fieldViolation(field, "must be guardrail-policies/{policy} or orgs/{org}/guardrail-policies/{policy}", "resource_name.form");
    const principal = callerOf(ctx);
    const scope = await scopeOf(principal, match[1] === undefined ? "" : `orgs/${match[1]}`, write);
    const record = await deps.policies.get(scope.orgId, match[2]!);
    if (record === undefined) throw new ConnectError(`guardrail policy ${name} not found`, Code.NotFound);
    return { principal, scope, record };
  };
  const compiled = (policy: GuardrailPolicy, field: string): CompiledPolicy => {
    try {
      return compilePolicy(policy);
    } catch (err) {
      if (err instanceof PolicyError) throw fieldViolation(`${field}.${err.path}`, err.problem, err.ruleId);
      throw err;
    }
  };
  const resolveAttachments = async (principal: Principal, scope: Scope, names: readonly string[], field: string): Promise<GuardrailAttachmentRow[]> => {
    const rows: GuardrailAttachmentRow[] = [];
    const visible = orgScopeOf(principal);
    for (const name of new Set(names)) {
      const at = `${field}[${names.indexOf(name)}]`;
      const m = ATTACHMENT.exec(name);
      if (m === null) throw fieldViolation(at, `"${name}" must be one of ${ATTACHMENT_FORMS}`, "attachments.form");
      const [, orgName, teamName, keyName, orgRoute, globalRoute] = m;
      if (globalRoute !== undefined) {
        rows.push({ name, kind: "route", id: null, alias: globalRoute });
        continue;
      }
      if (scope.orgName !== null && orgName !== scope.orgName) {
        throw fieldViolation(at, `a policy of orgs/${scope.orgName} attaches only to that org's resources and to global routes`, "attachments.org");
      }
      const missing = () => fieldViolation(at, `${name} not found`, "attachments.exists");
      const org = await deps.tenants.getOrg(orgName!, visible);
      if (org === undefined) throw missing();
      if (orgRoute !== undefined) rows.push({ name, kind: "route", id: org.id, alias: orgRoute });
      else if (keyName !== undefined) {
        const key = await deps.keys.getKey({ orgName: orgName!, teamName: teamName!, name: keyName }, visible);
        if (key === undefined) throw missing();
        rows.push({ name, kind: "key", id: key.id });
      } else if (teamName !== undefined) {
        const team = await deps.tenants.getTeam(orgName!, teamName, visible);
        if (team === undefined) throw missing();
        rows.push({ name, kind: "team", id: team.id });
      } else rows.push({ name, kind: "org", id: org.id });
    }
    return rows;
  };
  const refreshed = async <T>(value: T): Promise<T> => {
    await deps.refresh?.();
    return value;
  };

  return {
    async createGuardrailPolicy(req, ctx) {
      const principal = callerOf(ctx);
      const scope = await scopeOf(principal, req.parent, true);
      const spec = specOf(req.policy ?? create(GuardrailPolicySchema));
      compiled(spec, "policy");
      checkExternalUrls(spec);
      const attachments = await resolveAttachments(principal, scope, req.policy?.attachments ?? [], "policy.attachments");
      const name = policyName({ orgName: scope.orgName, policyId: req.policyId });
      const key = idempotencyKey(principal, "CreateGuardrailPolicy", CreateGuardrailPolicyRequestSchema, req);
      const outcome = await deps.policies.create(scope.orgId, req.policyId, { spec: toJson(GuardrailPolicySchema, spec), attachments, enabled: req.policy?.enabled ?? false }, key);
      const record = createdRecord(outcome, name, (rejection) =>
        rejection.kind === "attachment_gone"
          ? attachmentGone(req.policy?.attachments ?? [], rejection.name)
          : new ConnectError(`guardrail policy ${name} already exists`, Code.AlreadyExists),
      );
      return refreshed({ policy: toPolicy(record) });
    },
    async getGuardrailPolicy(req, ctx) {
      const { principal, record } = await load(ctx, req.name, false);
      return { policy: readable(principal, toPolicy(record)) };
    },
    async listGuardrailPolicies(req, ctx) {
      const principal = callerOf(ctx);
      const scope = await scopeOf(principal, req.parent, false);
      const query = `guardrail-policies:${req.parent}`;
      const page = await deps.policies.list(scope.orgId, pageRequest(req.pageSize, req.pageToken, query));
      return { policies: page.items.map((r) => readable(principal, toPolicy(r))), nextPageToken: nextPageToken(page.after, query) };
    },
    async updateGuardrailPolicy(req, ctx) {
      const given = policyUpdate.given(req.policy);
      const fields = maskedFields(req.updateMask, UPDATABLE);
      const { principal, scope, record } = await load(ctx, given.name, true, "policy.name");
      const next = policyUpdate.merge(toPolicy(record), given, fields);
      const spec = specOf(next);
      compiled(next, "policy");
      if (fields.has("rules")) checkExternalUrls(next);
      const attachments = fields.has("attachments") ? await resolveAttachments(principal, scope, given.attachments, "policy.attachments") : record.attachments;
      // Only over the revision `next` was merged from, so a write in between is not reverted.
      const updated = await deps.policies.update(scope.orgId, record.policyId, record.revision, { spec: toJson(GuardrailPolicySchema, spec), attachments, enabled: next.enabled });
      if (updated === undefined) throw new ConnectError(`guardrail policy ${given.name} not found`, Code.NotFound);
      if (updated === "conflict") throw new ConnectError(`guardrail policy ${given.name} was changed concurrently; read it again and retry`, Code.Aborted);
      if ("kind" in updated) throw attachmentGone(given.attachments, updated.name);
      noteAudit(ctx, { resource: given.name, orgId: scope.orgId, before: auditSnapshot(GuardrailPolicySchema, toPolicy(updated.before)), after: auditSnapshot(GuardrailPolicySchema, toPolicy(updated.after)) });
      return refreshed({ policy: toPolicy(updated.after) });
    },
    async deleteGuardrailPolicy(req, ctx) {
      const { scope, record } = await load(ctx, req.name, true);
      const deleted = await deps.policies.delete(scope.orgId, record.policyId);
      if (deleted === undefined) throw new ConnectError(`guardrail policy ${req.name} not found`, Code.NotFound);
      noteAudit(ctx, { resource: req.name, orgId: scope.orgId, before: auditSnapshot(GuardrailPolicySchema, toPolicy(deleted)) });
      return refreshed({});
    },
    async evaluateGuardrailPolicy(req) {
      const policy = clone(GuardrailPolicySchema, req.policy ?? create(GuardrailPolicySchema));
      policy.name ||= "draft";
      const stage = req.stage === GuardrailStage.OUTPUT ? "output" : "input";
      const verdict = evaluateText(req.text, [compiled(policy, "policy")], stage, createPlaceholders());
      return {
        findings: verdict.findings.map((f) => ({ rule: f.rule, category: f.category, start: f.start, end: f.end, action: ACTION[f.action] })),
        redactedText: verdict.text,
        blocked: verdict.blocked !== undefined,
      };
    },
  };
}

/**
 * An attachment whose org, team or key was deleted between its resolution and the write (which
 * locks it): the same answer as when the resolution itself misses.
 */
function attachmentGone(names: readonly string[], name: string): ConnectError {
  return fieldViolation(`policy.attachments[${names.indexOf(name)}]`, `${name} not found`, "attachments.exists");
}

const ACTION = { redact: GuardrailAction.REDACT, block: GuardrailAction.BLOCK, log: GuardrailAction.LOG } as const;

/** What is stored of a policy: rules, description and failure mode (name, times, attachments and enabled have columns). */
function specOf(policy: GuardrailPolicy): GuardrailPolicy {
  return create(GuardrailPolicySchema, { description: policy.description, rules: policy.rules, analyzerFailOpen: policy.analyzerFailOpen });
}

/**
 * `policy` as `principal` may read it: only the attachments it may see ({@link visibleAttachments});
 * and a global policy's external-check URLs cut to their origin. The URL is the platform's and
 * `sensitive`: it may carry a token in its user info, path or query, which no org below the
 * platform may read; where the check is sent (scheme, host, port) stays visible.
 */
function readable(principal: Principal, policy: GuardrailPolicy): GuardrailPolicy {
  policy.attachments = visibleAttachments(principal, policy.attachments);
  if (!isPlatformAdmin(principal) && policy.name.startsWith("guardrail-policies/")) {
    for (const rule of policy.rules) {
      if (rule.check.case === "external") rule.check.value.url = originOf(rule.check.value.url);
    }
  }
  return policy;
}

/** `url`'s origin (`https://host:port`), or "" when it is not a URL with one. */
function originOf(url: string): string {
  try {
    const origin = new URL(url).origin;
    return origin === "null" ? "" : origin;
  } catch {
    return "";
  }
}

/** A stored policy as the API returns it. */
function toPolicy(record: GuardrailPolicyRecord): GuardrailPolicy {
  const policy = fromJson(GuardrailPolicySchema, record.spec as JsonValue, { ignoreUnknownFields: true });
  policy.name = policyName(record);
  policy.attachments = record.attachments.map((a) => a.name);
  policy.enabled = record.enabled;
  policy.createTime = timestampFromDate(record.createdAt);
  policy.updateTime = timestampFromDate(record.updatedAt);
  return policy;
}
