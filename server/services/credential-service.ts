import { createHash } from "node:crypto";
import { clone } from "@bufbuild/protobuf";
import type { Validator } from "@bufbuild/protovalidate";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import {
  CreateCredentialRequestSchema,
  CredentialSchema,
  CredentialService,
  UpdateCredentialRequestSchema,
  type Credential,
} from "../../gen/ts/switchboard/v1/credential_service_pb.js";
import { auditSnapshot, noteAudit } from "../audit/audit-context.js";
import { orgScopeOf, requirePlatformAdmin } from "../auth/access.js";
import type { Principal } from "../auth/principal.js";
import type { Clock } from "../clock.js";
import { closestName } from "../config/closest-name.js";
import type { ProviderCatalog } from "../dispatch/route-spec.js";
import { fieldViolation, fieldViolations } from "../errors/field-violation.js";
import { createEgressPolicy, type EgressPolicy } from "../http/egress-policy.js";
import type { CredentialPatch, CredentialRecord } from "../store/credential-store.js";
import { newId } from "../store/ids.js";
import type { TenantStore } from "../store/tenant-store.js";
import { credentialName, parseCredentialName } from "../vault/credential-names.js";
import type { Vault } from "../vault/vault.js";
import { callerOf } from "./caller.js";
import { credentialMessage, valueFacts } from "./credential-messages.js";
import { credentialSettingsProblems } from "./credential-settings.js";
import { maskedFields } from "./field-mask.js";
import { createdRecord, idempotencyKey } from "./idempotency.js";
import { createMaskedUpdate } from "./masked-update.js";
import { nextPageToken, pageRequest } from "./page-token.js";
import { parseOrgName } from "./resource-names.js";
import { routeName } from "./route-service.js";

/** Dependencies of {@link createCredentialService}. */
export interface CredentialServiceDeps {
  vault: Vault;
  tenants: Pick<TenantStore, "getOrg">;
  /** The provider kinds a credential may be for, and the settings each takes. */
  catalog: Pick<ProviderCatalog, "kinds" | "settings">;
  clock: Clock;
  /** The schema's rules, for what an update leaves (best the validate interceptor's; default a new one). */
  validator?: Validator;
  /** Where a `base_url` setting may point (the server's policy of admin-set URLs; default: the default policy). */
  egress?: EgressPolicy;
}

const UPDATABLE = ["display_name", "settings", "value"] as const;

/** Where a credential lives: global (`orgId` null) or in one org. */
interface Owner {
  orgId: string | null;
  orgName: string | null;
}

/**
 * `switchboard.v1.CredentialService`: provider credentials in the vault. Write-only: a value goes
 * in with Create or Update and never comes out of any RPC — reads show the name, provider,
 * settings, a fingerprint, the last four characters and the master key id. Global credentials
 * (`credentials/{id}`) need `SCOPE_PLATFORM_ADMIN` for reads and writes alike; an org's are
 * confined to that org (another org's answer `NotFound`). Every change drops the credential from
 * this replica's decrypted-value cache at once; other replicas follow within the cache TTL.
 */
export function createCredentialService(deps: CredentialServiceDeps): ServiceImpl<typeof CredentialService> {
  const store = deps.vault.credentials;
  const credentialUpdate = createMaskedUpdate(UpdateCredentialRequestSchema, "credential", CredentialSchema, deps.validator);
  const egress = deps.egress ?? createEgressPolicy();
  // Early feedback: the egress policy judges the address each connection dials again.
  const checkSettings = (kind: string, settings: Record<string, string>) => {
    const problems = credentialSettingsProblems(kind, settings, deps.catalog.settings(kind), egress);
    if (problems.length > 0) throw fieldViolations(problems);
  };
  const ownerOf = async (caller: Principal, parent: string, field: string): Promise<Owner> => {
    if (parent === "") {
      requirePlatformAdmin(caller, "global credentials");
      return { orgId: null, orgName: null };
    }
    const orgName = parseOrgName(parent, field);
    const org = await deps.tenants.getOrg(orgName, orgScopeOf(caller));
    if (org === undefined) throw new ConnectError(`${parent} not found`, Code.NotFound);
    return { orgId: org.id, orgName: org.name };
  };
  const load = async (ctx: HandlerContext, name: string, field: string): Promise<CredentialRecord> => {
    const ref = parseCredentialName(name);
    if (ref === undefined) throw fieldViolation(field, "must be credentials/{credential} or orgs/{org}/credentials/{credential}", "resource_name.form");
    const owner = await ownerOf(callerOf(ctx), ref.orgName === null ? "" : `orgs/${ref.orgName}`, field);
    const record = await store.get(owner.orgId, ref.id);
    if (record === undefined) throw new ConnectError(`${name} not found`, Code.NotFound);
    return record;
  };
  const snapshot = (record: CredentialRecord) => auditSnapshot(CredentialSchema, credentialMessage(record));

  return {
    async createCredential(req, ctx) {
      const caller = callerOf(ctx);
      const owner = await ownerOf(caller, req.parent, "parent");
      const fields = fieldsOf(req.credential, deps.catalog.kinds);
      checkSettings(fields.provider, fields.settings);
      const name = credentialName({ orgName: owner.orgName, id: req.credentialId });
      const id = newId("cred", deps.clock.now());
      const seal = deps.vault.seal(req.value, { credentialId: id, orgId: owner.orgId, resourceName: name, version: 1 });
      // The idempotency fingerprint covers a hash of the value, not the value.
      const fingerprinted = clone(CreateCredentialRequestSchema, req);
      fingerprinted.value = createHash("sha256").update(req.value, "utf8").digest("hex");
      const idem = idempotencyKey(caller, "CreateCredential", CreateCredentialRequestSchema, fingerprinted);
      const outcome = await store.create({ id, orgId: owner.orgId, name: req.credentialId, ...fields, ...valueFacts(req.value), seal }, idem);
      const record = createdRecord(outcome, name, () => new ConnectError(`${name} already exists`, Code.AlreadyExists));
      deps.vault.forget(name);
      noteAudit(ctx, { resource: name, orgId: owner.orgId, after: snapshot(record) });
      return { credential: credentialMessage(record) };
    },

    async getCredential(req, ctx) {
      return { credential: credentialMessage(await load(ctx, req.name, "name")) };
    },

    async listCredentials(req, ctx) {
      const owner = await ownerOf(callerOf(ctx), req.parent, "parent");
      const query = `ListCredentials ${req.parent}`;
      const page = await store.list(owner.orgId, pageRequest(req.pageSize, req.pageToken, query));
      return { credentials: page.items.map(credentialMessage), nextPageToken: nextPageToken(page.after, query) };
    },

    async updateCredential(req, ctx) {
      const given = credentialUpdate.given(req.credential);
      const name = given.name;
      const masked = maskedFields(req.updateMask, UPDATABLE);
      if (masked.has("value") && req.value === "") throw fieldViolation("value", "required when update_mask names value", "credential.value.masked");
      if (!masked.has("value") && req.value !== "") {
        throw fieldViolation("value", "set, but update_mask does not name value; add it to replace the value", "credential.value.unmasked");
      }
      const current = await load(ctx, name, "credential.name");
      const next = credentialUpdate.merge(credentialMessage(current), given, masked);
      if (masked.has("settings")) checkSettings(current.provider, { ...next.settings });
      const patch: CredentialPatch = {
        ...(masked.has("display_name") ? { displayName: next.displayName } : {}),
        ...(masked.has("settings") ? { settings: { ...next.settings } } : {}),
      };
      if (masked.has("value")) {
        const version = current.version + 1;
        const resourceName = credentialName({ orgName: current.orgName, id: current.name });
        const seal = deps.vault.seal(req.value, { credentialId: current.id, orgId: current.orgId, resourceName, version });
        patch.value = { ...valueFacts(req.value), version, seal };
      }
      const updated = await store.update(current.id, current.version, patch, new Date(deps.clock.now()));
      deps.vault.forget(name);
      if (updated === undefined) throw new ConnectError(`${name} not found`, Code.NotFound);
      if (updated === "conflict") throw new ConnectError(`${name} was changed concurrently; read it again and retry`, Code.Aborted);
      noteAudit(ctx, { resource: name, orgId: current.orgId, before: snapshot(updated.before), after: snapshot(updated.after) });
      return { credential: credentialMessage(updated.after) };
    },

    async deleteCredential(req, ctx) {
      const current = await load(ctx, req.name, "name");
      // The store looks for routes using it in the delete's transaction: a route write naming it
      // commits before that look (and is seen) or after the delete.
      const outcome = await store.delete(current.id, req.name);
      if (outcome !== undefined && "usedBy" in outcome) {
        const users = outcome.usedBy.map((r) => routeName(r.orgName, r.alias));
        throw new ConnectError(`${req.name} is still used by ${users.join(", ")}; change those routes first`, Code.FailedPrecondition);
      }
      deps.vault.forget(req.name);
      if (outcome === undefined) throw new ConnectError(`${req.name} not found`, Code.NotFound);
      noteAudit(ctx, { resource: req.name, orgId: outcome.deleted.orgId, before: snapshot(outcome.deleted) });
      return {};
    },

    async rewrapCredentials(_req, ctx) {
      requirePlatformAdmin(callerOf(ctx), "RewrapCredentials");
      const result = await deps.vault.rewrapAll();
      if (result.missing.size > 0) {
        const keys = [...result.missing].map(([id, count]) => `${count} under ${id}`).join(", ");
        throw new ConnectError(
          `re-wrapped ${result.rewrapped}, but some credentials are wrapped by master keys this replica does not hold (${keys}); ` +
            "configure the key as SWITCHBOARD_MASTER_KEY_PREVIOUS and retry",
          Code.FailedPrecondition,
        );
      }
      if (result.undecryptable.length > 0) {
        throw new ConnectError(
          `re-wrapped ${result.rewrapped}, but the data keys of ${result.undecryptable.join(", ")} do not decrypt (a damaged row); ` +
            "replace their values with UpdateCredential (or delete them) and retry",
          Code.FailedPrecondition,
        );
      }
      noteAudit(ctx, { resource: "credentials", orgId: null });
      return { rewrapped: BigInt(result.rewrapped), masterKeyId: result.masterKeyId };
    },
  };
}

/** The metadata of a requested credential; `InvalidArgument` for a missing or unknown provider. */
function fieldsOf(credential: Credential | undefined, kinds: readonly string[]): { provider: string; displayName: string; settings: Record<string, string> } {
  const provider = credential?.provider ?? "";
  if (!kinds.includes(provider)) {
    const guess = provider === "" ? undefined : closestName(provider, kinds);
    const what = provider === "" ? "required" : `unknown provider "${provider}"${guess ? ` (did you mean "${guess}"?)` : ""}`;
    throw fieldViolation("credential.provider", `${what}; known: ${kinds.join(", ")}`, "credential.provider.known");
  }
  return { provider, displayName: credential?.displayName ?? "", settings: { ...credential?.settings } };
}
