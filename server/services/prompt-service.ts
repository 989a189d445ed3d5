import type { Validator } from "@bufbuild/protovalidate";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { Verb } from "../../gen/ts/switchboard/v1/common_pb.js";
import {
  CreatePromptTemplateRequestSchema,
  CreatePromptVersionRequestSchema,
  PromptService,
  PromptTemplateSchema,
  UpdatePromptTemplateRequestSchema,
  type PromptTemplate,
  type PromptVersion,
} from "../../gen/ts/switchboard/v1/prompt_service_pb.js";
import { auditSnapshot, noteAudit } from "../audit/audit-context.js";
import { orgScopeOf, requirePlatformAdmin } from "../auth/access.js";
import type { Principal } from "../auth/principal.js";
import { fieldViolation, fieldViolations, type FieldProblem } from "../errors/field-violation.js";
import type { NewPromptVersion, PromptStore } from "../store/prompt-store.js";
import { TemplateError } from "../verbs/templates/prompt-template.js";
import { parsePromptName, parsePromptVersionName, promptResourceName, type PromptRef } from "../verbs/templates/prompt-names.js";
import { renderTemplate } from "../verbs/templates/render-template.js";
import { checkVersionForVerb, isTemplateVerb, type TemplateVerb } from "../verbs/templates/verb-template-rules.js";
import { templateErrorToConnect } from "../verbs/verb-errors.js";
import { callerOf } from "./caller.js";
import { messageToProto } from "./capability/chat-mapping.js";
import { maskedFields } from "./field-mask.js";
import { createdRecord, idempotencyKey } from "./idempotency.js";
import { createMaskedUpdate } from "./masked-update.js";
import { invalidPageToken, isPagePosition, nextPageToken, pageRequest } from "./page-token.js";
import { attachmentGone, attachmentTaken, checkAttachments, type AttachmentDeps } from "./prompt-attachments.js";
import { promptTemplateMessage, promptVersionMessage, templateRoleOf, templateVerbOf } from "./prompt-messages.js";
import { parseOrgName } from "./resource-names.js";
import { visibleAttachments } from "./visible-attachments.js";

/** Dependencies of {@link createPromptService}. */
export interface PromptServiceDeps extends Omit<AttachmentDeps, "prompts"> {
  prompts: PromptStore;
  /**
   * Reloads this replica's template snapshot after a write, so the replica that made a change
   * renders it at once (every other replica: within its poll interval).
   */
  refresh: () => Promise<void>;
  /** The schema's rules, for what an update leaves (best the validate interceptor's; default a new one). */
  validator?: Validator;
}

const UPDATABLE = ["description", "attachments"] as const;

/** Where a template lives: global (`orgId` null) or in one org. */
interface Scope {
  orgId: string | null;
  orgName: string | null;
}

const notFound = (name: string) => new ConnectError(`prompt template ${name} not found`, Code.NotFound);

/**
 * PromptService: templates with immutable, numbered versions, one of them active. Global
 * templates (`prompts/{p}`) are readable by every caller with the read scope and writable only
 * by platform admins; an org's templates are confined to that org (another org's answer
 * NotFound). Every version is checked against its verb before it is stored (placeholders parse,
 * the verb's material variables are used, end-user content only in user messages, no
 * credentials), and every write reaches this replica's resolver at once and the others within
 * their poll interval.
 */
export function createPromptService(deps: PromptServiceDeps): ServiceImpl<typeof PromptService> {
  const templateUpdate = createMaskedUpdate(UpdatePromptTemplateRequestSchema, "template", PromptTemplateSchema, deps.validator);
  const scopeOf = async (principal: Principal, orgName: string | null, write: boolean, missing: () => ConnectError): Promise<Scope> => {
    if (orgName === null) {
      if (write) requirePlatformAdmin(principal, "changing a global prompt template");
      return { orgId: null, orgName: null };
    }
    const org = await deps.tenants.getOrg(orgName, orgScopeOf(principal));
    if (org === undefined) throw missing();
    return { orgId: org.id, orgName: org.name };
  };
  const parentScope = (principal: Principal, parent: string, write: boolean) =>
    scopeOf(principal, parent === "" ? null : parseOrgName(parent, "parent"), write, () => new ConnectError(`${parent} not found`, Code.NotFound));
  const parseName = (name: string, field: string): PromptRef => {
    const ref = parsePromptName(name);
    if (ref === undefined) throw fieldViolation(field, "must be prompts/{prompt} or orgs/{org}/prompts/{prompt}", "resource_name.form");
    return ref;
  };
  /** The template a name points at, as the caller may see it: its reference and scope, not read yet. */
  const locate = async (principal: Principal, name: string, field: string, write: boolean) => {
    const ref = parseName(name, field);
    return { ref, scope: await scopeOf(principal, ref.orgName, write, () => notFound(name)) };
  };
  const load = async (principal: Principal, name: string, field: string, write: boolean) => {
    const { ref, scope } = await locate(principal, name, field, write);
    const record = await deps.prompts.getTemplate(scope.orgId, ref.name);
    if (record === undefined) throw notFound(name);
    return { ref, scope, record, verb: record.verb as TemplateVerb };
  };
  const attachmentDeps = { tenants: deps.tenants, keys: deps.keys, routes: deps.routes, prompts: deps.prompts };
  const snapshot = (message: ReturnType<typeof promptTemplateMessage>) => auditSnapshot(PromptTemplateSchema, message);
  // The change is committed: a reload that fails now is retried by the catalog's next poll.
  const refreshed = () => deps.refresh().catch(() => undefined);

  return {
    async createPromptTemplate(req, ctx) {
      const principal = callerOf(ctx);
      const scope = await parentScope(principal, req.parent, true);
      const verb = templateVerbOf(req.template?.verb ?? Verb.UNSPECIFIED);
      if (verb === undefined) throw fieldViolation("template.verb", "Embed renders no prompt; choose summarize, classify, extract, answer or chat", "prompt_template.verb.renders");
      const first = versionFields(verb, req.firstVersion, "first_version", principal);
      const target = { ...scope, verb, name: req.promptId };
      const attachments = await checkAttachments(attachmentDeps, principal, target, req.template?.attachments ?? [], "template.attachments");
      const name = promptResourceName({ orgName: scope.orgName, name: req.promptId });
      const outcome = await deps.prompts.createTemplate(
        scope.orgId,
        { name: req.promptId, verb, description: req.template?.description ?? "", attachments },
        first,
        idempotencyKey(principal, "CreatePromptTemplate", CreatePromptTemplateRequestSchema, req),
      );
      const made = createdRecord(outcome, name, (rejected) =>
        rejected.kind === "attached"
          ? attachmentTaken(target, rejected, "template.attachments")
          : rejected.kind === "gone"
            ? attachmentGone(rejected, req.template?.attachments ?? [], "template.attachments")
            : new ConnectError(`prompt template ${name} already exists`, Code.AlreadyExists),
      );
      // The audit event's after state is the response: the template and its first version.
      noteAudit(ctx, { resource: name, orgId: scope.orgId });
      if (outcome.kind === "created") await refreshed();
      return { template: promptTemplateMessage(made.template), version: promptVersionMessage(made.template, made.version) };
    },

    async getPromptTemplate(req, ctx) {
      const principal = callerOf(ctx);
      const { record } = await load(principal, req.name, "name", false);
      return { template: readable(principal, promptTemplateMessage(record)) };
    },

    async listPromptTemplates(req, ctx) {
      const principal = callerOf(ctx);
      const scope = await parentScope(principal, req.parent, false);
      const query = `ListPromptTemplates ${req.parent} ${req.verb}`;
      const verb = req.verb === Verb.UNSPECIFIED ? undefined : (templateVerbOf(req.verb) ?? "embed");
      const page = await deps.prompts.listTemplates(scope.orgId, pageRequest(req.pageSize, req.pageToken, query), verb === undefined ? {} : { verb });
      return { templates: page.items.map((r) => readable(principal, promptTemplateMessage(r))), nextPageToken: nextPageToken(page.after, query) };
    },

    async updatePromptTemplate(req, ctx) {
      const principal = callerOf(ctx);
      const given = templateUpdate.given(req.template);
      const fields = maskedFields(req.updateMask, UPDATABLE);
      const { ref, scope, verb, record } = await load(principal, given.name, "template.name", true);
      const next = templateUpdate.merge(promptTemplateMessage(record), given, fields);
      const target = { ...scope, verb, name: ref.name };
      const attachments = fields.has("attachments")
        ? await checkAttachments(attachmentDeps, principal, target, next.attachments, "template.attachments")
        : undefined;
      const updated = await deps.prompts.updateTemplate(scope.orgId, ref.name, {
        ...(fields.has("description") ? { description: next.description } : {}),
        ...(attachments === undefined ? {} : { attachments }),
      });
      if (updated === undefined) throw notFound(given.name);
      if ("kind" in updated) {
        throw updated.kind === "gone" ? attachmentGone(updated, given.attachments, "template.attachments") : attachmentTaken(target, updated, "template.attachments");
      }
      const after = promptTemplateMessage(updated.after);
      noteAudit(ctx, { resource: after.name, orgId: scope.orgId, before: snapshot(promptTemplateMessage(updated.before)), after: snapshot(after) });
      await refreshed();
      return { template: after };
    },

    async deletePromptTemplate(req, ctx) {
      // The delete reads the template itself, locked: no such template is `undefined` there.
      const { ref, scope } = await locate(callerOf(ctx), req.name, "name", true);
      const deleted = await deps.prompts.deleteTemplate(scope.orgId, ref.name);
      if (deleted === undefined) throw notFound(req.name);
      noteAudit(ctx, { resource: req.name, orgId: scope.orgId, before: snapshot(promptTemplateMessage(deleted)) });
      await refreshed();
      return {};
    },

    async createPromptVersion(req, ctx) {
      const principal = callerOf(ctx);
      const { ref, scope, verb } = await load(principal, req.parent, "parent", true);
      const fields = versionFields(verb, req.version, "version", principal);
      const outcome = await deps.prompts.createVersion(
        scope.orgId,
        ref.name,
        fields,
        req.activate,
        idempotencyKey(principal, "CreatePromptVersion", CreatePromptVersionRequestSchema, req),
      );
      const made = createdRecord(outcome, req.parent, () => notFound(req.parent));
      const version = promptVersionMessage(made.template, made.version);
      // The audit event's after state is the response: the new version and the template after it.
      noteAudit(ctx, { resource: version.name, orgId: scope.orgId });
      if (outcome.kind === "created") await refreshed();
      return { version, template: promptTemplateMessage(made.template) };
    },

    async getPromptVersion(req, ctx) {
      const ref = parsePromptVersionName(req.name);
      if (ref === undefined) throw fieldViolation("name", "must be {template}/versions/{version}", "resource_name.form");
      const scope = await scopeOf(callerOf(ctx), ref.orgName, false, () => notFound(req.name));
      const found = await deps.prompts.getVersion(scope.orgId, ref.name, ref.version);
      if (found === undefined) throw new ConnectError(`prompt version ${req.name} not found`, Code.NotFound);
      return { version: promptVersionMessage(found.template, found.version) };
    },

    async listPromptVersions(req, ctx) {
      const { ref, scope, record } = await load(callerOf(ctx), req.parent, "parent", false);
      const query = `ListPromptVersions ${record.id}`;
      const request = pageRequest(req.pageSize, req.pageToken, query);
      if (request.after !== undefined && !isPagePosition(request.after, 9)) throw invalidPageToken();
      const page = await deps.prompts.listVersions(scope.orgId, ref.name, request);
      if (page === undefined) throw notFound(req.parent);
      return { versions: page.items.map((v) => promptVersionMessage(record, v)), nextPageToken: nextPageToken(page.after, query) };
    },

    async activatePromptVersion(req, ctx) {
      const ref = parsePromptVersionName(req.name);
      if (ref === undefined) throw fieldViolation("name", "must be {template}/versions/{version}", "resource_name.form");
      const templateName = promptResourceName(ref);
      // The activation reads the template itself, locked: no such template is `template_not_found` there.
      const { scope } = await locate(callerOf(ctx), templateName, "name", true);
      const activated = await deps.prompts.activateVersion(scope.orgId, ref.name, ref.version);
      if (activated === "template_not_found") throw notFound(templateName);
      if (activated === "version_not_found") throw new ConnectError(`prompt version ${req.name} not found`, Code.NotFound);
      const after = promptTemplateMessage(activated.after);
      noteAudit(ctx, { resource: req.name, orgId: scope.orgId, before: snapshot(promptTemplateMessage(activated.before)), after: snapshot(after) });
      await refreshed();
      return { template: after };
    },

    async renderPromptPreview(req, ctx) {
      const name = req.prompt?.name ?? "";
      const { ref, scope, record } = await load(callerOf(ctx), name, "prompt.name", false);
      const number = req.prompt?.version || record.activeVersion;
      const found = await deps.prompts.getVersion(scope.orgId, ref.name, number);
      if (found === undefined) throw new ConnectError(`prompt version ${name}/versions/${number} not found`, Code.NotFound);
      try {
        const rendered = renderTemplate({ name, version: number, messages: found.version.messages }, req.variables);
        return { messages: rendered.messages.map(messageToProto), version: number };
      } catch (err) {
        if (err instanceof TemplateError) throw templateErrorToConnect(err);
        throw err;
      }
    },
  };
}

/** `template` as `principal` may read it: only the attachments it may see ({@link visibleAttachments}). */
function readable(principal: Principal, template: PromptTemplate): PromptTemplate {
  template.attachments = visibleAttachments(principal, template.attachments);
  return template;
}

/**
 * A requested version's stored fields, after checking it against its template's verb; every
 * problem is reported at once, each at its field path (`first_version.messages[1].template: …`).
 */
function versionFields(verb: string, version: PromptVersion | undefined, field: string, principal: Principal): NewPromptVersion {
  if (version === undefined || version.messages.length === 0) throw fieldViolation(`${field}.messages`, "at least one message is required", "prompt_version.messages.required");
  if (!isTemplateVerb(verb)) throw new ConnectError(`the template's verb "${verb}" renders no prompt`, Code.FailedPrecondition);
  const problems: FieldProblem[] = [];
  const messages = version.messages.map((m, i) => {
    const role = templateRoleOf(m.role);
    if (role === undefined) problems.push({ field: `${field}.messages[${i}].role`, message: "must be ROLE_SYSTEM, ROLE_USER or ROLE_ASSISTANT", ruleId: "prompt_version.role.defined" });
    return { role: role ?? "user", template: m.template };
  });
  const checked = checkVersionForVerb(verb, messages);
  problems.push(...checked.issues.map((issue) => ({ field: `${field}.${issue.path}`, message: issue.message, ruleId: issue.ruleId })));
  if (problems.length > 0) throw fieldViolations(problems);
  return { messages, variables: checked.variables, description: version.description, creator: principal.keyName };
}
