import { Code, ConnectError } from "@connectrpc/connect";
import { fieldViolation } from "../errors/field-violation.js";
import { orgScopeOf } from "../auth/access.js";
import type { Principal } from "../auth/principal.js";
import type { KeyStore } from "../store/key-store.js";
import type { AttachmentGone, AttachmentTaken, PromptStore } from "../store/prompt-store.js";
import type { RouteStore } from "../store/route-store.js";
import type { TenantStore } from "../store/tenant-store.js";
import { parseAttachment, promptResourceName, type AttachmentRef } from "../verbs/templates/prompt-names.js";

/** What {@link checkAttachments} looks resources up in. */
export interface AttachmentDeps {
  tenants: Pick<TenantStore, "getOrg" | "getTeam">;
  keys: Pick<KeyStore, "getKey">;
  routes: Pick<RouteStore, "get">;
  prompts: Pick<PromptStore, "attachedTo">;
}

/** The template the attachments are for: its scope (global when `orgId` is null), verb and name. */
export interface AttachmentTarget {
  orgId: string | null;
  orgName: string | null;
  verb: string;
  /** The template's own name, when it exists already (its current attachments are not conflicts). */
  name?: string;
}

const FORMS = "orgs/{org}, orgs/{org}/teams/{team}, orgs/{org}/teams/{team}/keys/{key}, routes/{route} or orgs/{org}/routes/{route}";

/**
 * Checks a template's attachments and returns them without repeats, in order. Each must name an
 * existing org, team, key or route the caller can see; an org's template attaches only to that
 * org's resources or to global routes (used by that org's calls); and no other template of the
 * same scope and verb may already be attached to the same resource, so which template a call
 * renders is never a tie. Problems are InvalidArgument on `field[i]` (a `buf.validate.Violations`
 * detail naming it; rules `attachments.form`, `attachments.org`, `attachments.exists`), a conflict
 * FailedPrecondition naming the template that holds the resource ({@link attachmentTaken}).
 *
 * The conflict check here reads without a lock, to refuse early; the store's write re-checks
 * under its per-scope-and-verb lock, and its `attached` outcome is the same error.
 */
export async function checkAttachments(
  deps: AttachmentDeps,
  principal: Principal,
  target: AttachmentTarget,
  attachments: readonly string[],
  field: string,
): Promise<string[]> {
  const unique = [...new Set(attachments)];
  const scope = orgScopeOf(principal);
  for (const name of unique) {
    const at = `${field}[${attachments.indexOf(name)}]`;
    const ref = parseAttachment(name);
    if (ref === undefined) throw fieldViolation(at, `"${name}" must be one of ${FORMS}`, "attachments.form");
    if (target.orgName !== null && ref.orgName !== null && ref.orgName !== target.orgName) {
      throw fieldViolation(at, `a template of orgs/${target.orgName} can be attached only to that org's resources and to global routes`, "attachments.org");
    }
    if (!(await exists(deps, scope, ref))) throw fieldViolation(at, `${name} not found`, "attachments.exists");
  }
  const taken = await deps.prompts.attachedTo(target.orgId, target.verb, unique, target.name);
  const first = taken[0];
  if (first !== undefined) throw attachmentTaken(target, { kind: "attached", holder: first }, field);
  return unique;
}

/** The FailedPrecondition for attachments `taken` by another template of the target's scope and verb. */
export function attachmentTaken(target: AttachmentTarget, taken: AttachmentTaken, field: string): ConnectError {
  const { name, attachments } = taken.holder;
  const holder = promptResourceName({ orgName: target.orgName, name });
  return new ConnectError(
    `${field}: ${attachments.join(", ")} already use${attachments.length === 1 ? "s" : ""} ${holder} for ${target.verb}; detach it there first`,
    Code.FailedPrecondition,
  );
}

/**
 * The InvalidArgument for an attachment whose org, team or key was deleted between
 * {@link checkAttachments} and the write: the same error as if the check had missed it.
 */
export function attachmentGone(gone: AttachmentGone, attachments: readonly string[], field: string): ConnectError {
  return fieldViolation(`${field}[${attachments.indexOf(gone.name)}]`, `${gone.name} not found`, "attachments.exists");
}

async function exists(deps: AttachmentDeps, scope: ReturnType<typeof orgScopeOf>, ref: AttachmentRef): Promise<boolean> {
  switch (ref.kind) {
    case "org":
      return (await deps.tenants.getOrg(ref.orgName, scope)) !== undefined;
    case "team":
      return (await deps.tenants.getTeam(ref.orgName, ref.teamName, scope)) !== undefined;
    case "key":
      return (await deps.keys.getKey({ orgName: ref.orgName, teamName: ref.teamName, name: ref.keyName }, scope)) !== undefined;
    case "route": {
      if (ref.orgName === null) return (await deps.routes.get(null, ref.alias)) !== undefined;
      const org = await deps.tenants.getOrg(ref.orgName, scope);
      return org !== undefined && (await deps.routes.get(org.id, ref.alias)) !== undefined;
    }
  }
}
