import { randomBytes } from "node:crypto";
import { durationMs } from "@bufbuild/protobuf/wkt";
import type { Validator } from "@bufbuild/protovalidate";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  CreateKeyRequestSchema,
  KeySchema,
  KeyService,
  RotateKeyRequestSchema,
  UpdateKeyRequestSchema,
  type Key,
} from "../../gen/ts/switchboard/v1/key_service_pb.js";
import type { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import { auditSnapshot, noteAudit } from "../audit/audit-context.js";
import { assertCovers, assertGraceCovered, orgScopeOf, type Grant } from "../auth/access.js";
import type { Authenticator } from "../auth/authenticator.js";
import { generateSecret, parseSecret } from "../auth/key-format.js";
import type { Principal } from "../auth/principal.js";
import { ALL_SCOPES, scopeFromName, scopeName } from "../auth/scopes.js";
import { hashSecret } from "../auth/secret-hash.js";
import type { Clock } from "../clock.js";
import { fieldViolation } from "../errors/field-violation.js";
import type { KeyFields, KeyGuard, KeyRecord, KeyStore, StoredSecret } from "../store/key-store.js";
import type { Change } from "../store/locked-change.js";
import { callerOf } from "./caller.js";
import { maskedFields } from "./field-mask.js";
import { createdRecord, idempotencyKey } from "./idempotency.js";
import { keyMessage } from "./key-messages.js";
import { createMaskedUpdate } from "./masked-update.js";
import { nextPageToken, pageRequest } from "./page-token.js";
import { parseKeyName, parseTeamName, parseTeamParent } from "./resource-names.js";
import { checkedDate } from "./timestamp-field.js";

/** Dependencies of {@link createKeyService}. */
export interface KeyServiceDeps {
  keys: KeyStore;
  /** The HMAC key secrets are stored under. */
  pepper: string;
  clock: Clock;
  /** Told about every revoke, rotate and update, so this replica stops trusting its cache at once. */
  authenticator: Pick<Authenticator, "forget">;
  /** The schema's rules, for what an update leaves (best the validate interceptor's; default a new one). */
  validator?: Validator;
}

const UPDATABLE = ["display_name", "scopes", "allowed_routes", "allowed_models", "expire_time", "tags"] as const;

const notFound = (name: string) => new ConnectError(`${name} not found`, Code.NotFound);

/**
 * A revoke or update refused because it would leave no platform-admin key that never expires: no
 * admin could get in again (the bootstrap key is installed only on an empty database, or as the
 * README's break-glass). The admin's way forward is in the message.
 */
const lastPlatformAdmin = (name: string) =>
  new ConnectError(
    `${name} is the last active platform-admin key without an expiry: revoking it, removing SCOPE_PLATFORM_ADMIN or ` +
      "giving it an expire_time would lock every admin out; create another platform-admin key first",
    Code.FailedPrecondition,
  );

/**
 * `switchboard.v1.KeyService`: virtual keys. Secrets are generated here, returned once (by
 * CreateKey and RotateKey, never by a repeat of either) and stored only as an HMAC. A caller
 * works within its org (platform admins: every org) and only on keys it covers: it cannot grant a
 * scope, route or model it lacks or an expiry later than its own key's (none is the latest), nor
 * change, rotate or revoke a key that holds one.
 */
export function createKeyService(deps: KeyServiceDeps): ServiceImpl<typeof KeyService> {
  const now = () => deps.clock.now();
  const keyUpdate = createMaskedUpdate(UpdateKeyRequestSchema, "key", KeySchema, deps.validator);
  const newSecret = (): { secret: string; stored: StoredSecret } => {
    const secret = generateSecret();
    return { secret, stored: { secretHmac: hashSecret(secret, deps.pepper), displayPrefix: parseSecret(secret)!.displayPrefix } };
  };
  /**
   * Refuses (`PermissionDenied`) unless the caller covers a key and what `patch` makes of it. The
   * store runs it on the key as the write locked it (a {@link KeyGuard}), so a stronger admin's
   * change committed meanwhile (more scopes, fewer limits) is judged too.
   */
  const mayChange =
    (caller: Principal, action: string, patch: Partial<KeyFields> = {}): KeyGuard =>
    (key) => {
      assertCovers(caller, grantOf(key), action);
      assertCovers(caller, grantOf({ ...key, ...patch }), action);
    };
  /**
   * The key `name` (the request's `field`) names, if the caller may act on it as it is now: the
   * early answer (not found, permission denied) before the request's fields are checked. The write
   * judges again, on the key it replaces.
   */
  const coveredKey = async (caller: Principal, name: string, action: string, field = "name"): Promise<KeyRecord> => {
    const key = await deps.keys.getKey(parseKeyName(name, field), orgScopeOf(caller));
    if (key === undefined) throw notFound(name);
    mayChange(caller, action)(key);
    return key;
  };

  return {
    async createKey(req, ctx) {
      const caller = callerOf(ctx);
      const team = parseTeamName(req.parent, "parent");
      const fields = keyFieldsOf(req.key, now());
      assertCovers(caller, grantOf(fields), "CreateKey");
      const keyId = req.keyId !== "" ? req.keyId : generatedKeyId();
      const name = `${req.parent}/keys/${keyId}`;
      const { secret, stored } = newSecret();
      const idem = idempotencyKey(caller, "CreateKey", CreateKeyRequestSchema, req);
      const outcome = await deps.keys.createKey(team, keyId, orgScopeOf(caller), fields, stored, idem);
      const record = createdRecord(outcome, name, (rejection) =>
        rejection.kind === "team_not_found" ? notFound(req.parent) : new ConnectError(`${name} already exists`, Code.AlreadyExists),
      );
      // A repeat returns the key the first call made (named by that call's key_id when generated);
      // that call's secret is gone for good.
      const key = keyMessage(record, now());
      noteAudit(ctx, { resource: key.name, orgId: record.orgId, after: auditSnapshot(KeySchema, key) });
      return { key, secret: outcome.kind === "created" ? secret : "" };
    },

    async getKey(req, ctx) {
      const key = await deps.keys.getKey(parseKeyName(req.name, "name"), orgScopeOf(callerOf(ctx)));
      if (key === undefined) throw notFound(req.name);
      return { key: keyMessage(key, now()) };
    },

    async listKeys(req, ctx) {
      const query = `ListKeys ${req.parent} ${req.showInactive}`;
      const parent = parseTeamParent(req.parent, "parent");
      const page = await deps.keys.listKeys(parent, orgScopeOf(callerOf(ctx)), pageRequest(req.pageSize, req.pageToken, query), {
        includeInactive: req.showInactive,
        now: new Date(now()),
      });
      if (page === undefined) throw notFound(req.parent);
      return { keys: page.items.map((key) => keyMessage(key, now())), nextPageToken: nextPageToken(page.after, query) };
    },

    async updateKey(req, ctx) {
      const caller = callerOf(ctx);
      const key = keyUpdate.given(req.key);
      const name = key.name;
      const masked = maskedFields(req.updateMask, UPDATABLE);
      const current = await coveredKey(caller, name, "UpdateKey", "key.name");
      const given = keyFieldsOf(keyUpdate.merge(keyMessage(current, now()), key, masked), now(), masked);
      const patch: Partial<KeyFields> = {
        ...(masked.has("display_name") ? { displayName: given.displayName } : {}),
        ...(masked.has("scopes") ? { scopes: given.scopes } : {}),
        ...(masked.has("allowed_routes") ? { allowedRoutes: given.allowedRoutes } : {}),
        ...(masked.has("allowed_models") ? { allowedModels: given.allowedModels } : {}),
        ...(masked.has("expire_time") ? { expiresAt: given.expiresAt } : {}),
        ...(masked.has("tags") ? { tags: given.tags } : {}),
      };
      const updated = await deps.keys.updateKey(parseKeyName(name, "key.name"), orgScopeOf(caller), patch, new Date(now()), mayChange(caller, "UpdateKey", patch));
      if (updated === "last_platform_admin") throw lastPlatformAdmin(name);
      deps.authenticator.forget(current.id);
      if (updated === undefined) throw notFound(name);
      noteAudit(ctx, { resource: name, orgId: current.orgId, ...changed(updated, now()) });
      return { key: keyMessage(updated.after, now()) };
    },

    async revokeKey(req, ctx) {
      const caller = callerOf(ctx);
      const current = await coveredKey(caller, req.name, "RevokeKey");
      const revoked = await deps.keys.revokeKey(parseKeyName(req.name, "name"), orgScopeOf(caller), new Date(now()), mayChange(caller, "RevokeKey"));
      if (revoked === "last_platform_admin") throw lastPlatformAdmin(req.name);
      deps.authenticator.forget(current.id);
      if (revoked === undefined) throw notFound(req.name);
      noteAudit(ctx, { resource: req.name, orgId: current.orgId, ...changed(revoked, now()) });
      return { key: keyMessage(revoked.after, now()) };
    },

    async rotateKey(req, ctx) {
      const caller = callerOf(ctx);
      const current = await coveredKey(caller, req.name, "RotateKey");
      const graceMs = req.gracePeriod === undefined ? 0 : durationMs(req.gracePeriod);
      const at = now();
      const graceUntil = graceMs > 0 ? new Date(at + graceMs) : null;
      const { secret, stored } = newSecret();
      const idem = idempotencyKey(caller, "RotateKey", RotateKeyRequestSchema, req);
      const covered = mayChange(caller, "RotateKey");
      const outcome = await deps.keys.rotateKey(
        parseKeyName(req.name, "name"),
        orgScopeOf(caller),
        { secret: stored, graceUntil, now: new Date(at) },
        idem,
        // Judged with the write, not before it: a repeat returns the first call's key, however
        // close to the caller's expiry the same grace_period would now end.
        (key) => {
          covered(key);
          assertGraceCovered(caller, graceUntil?.getTime() ?? null, "RotateKey");
        },
      );
      deps.authenticator.forget(current.id);
      const record = createdRecord(outcome, req.name, (rejection) =>
        rejection.kind === "not_found"
          ? notFound(req.name)
          : new ConnectError(`${req.name} is revoked and cannot be rotated`, Code.FailedPrecondition),
      );
      noteAudit(ctx, { resource: req.name, orgId: current.orgId, ...changed(record, now()) });
      return { key: keyMessage(record.after, now()), secret: outcome.kind === "created" ? secret : "" };
    },
  };
}

/** The audit note's before and after of a key change: `Key` messages, which hold no secret or hash. */
function changed(change: Change<KeyRecord>, now: number) {
  return { before: auditSnapshot(KeySchema, keyMessage(change.before, now)), after: auditSnapshot(KeySchema, keyMessage(change.after, now)) };
}

/** The grant a key (or a key about to be) carries, for {@link assertCovers}. */
function grantOf(key: Pick<KeyFields, "scopes" | "allowedRoutes" | "allowedModels" | "expiresAt">): Grant {
  return {
    scopes: key.scopes.map(scopeFromName).filter((s): s is Scope => s !== undefined),
    allowedRoutes: key.allowedRoutes,
    allowedModels: key.allowedModels,
    expiresAt: key.expiresAt?.getTime() ?? null,
  };
}

/**
 * The storable fields of a requested key, checking those in `checked` (an update checks only its
 * masked fields, and reads `expire_time` only then): `InvalidArgument` for an unknown or
 * unspecified scope, no scope at all, or an `expire_time` out of range or not in the future.
 */
function keyFieldsOf(key: Key | undefined, now: number, checked: ReadonlySet<string> = new Set(UPDATABLE)): KeyFields {
  const scopes = [...new Set(key?.scopes ?? [])];
  if (checked.has("scopes")) {
    for (const scope of scopes) {
      if (!ALL_SCOPES.includes(scope)) throw fieldViolation("key.scopes", `${String(scope)} is not a grantable scope`, "key.scopes.grantable");
    }
    if (scopes.length === 0) throw fieldViolation("key.scopes", "a key needs at least one scope", "key.scopes.required");
  }
  const expiresAt = key?.expireTime === undefined || !checked.has("expire_time") ? null : checkedDate(key.expireTime, "key.expire_time");
  if (checked.has("expire_time") && expiresAt !== null && expiresAt.getTime() <= now) {
    throw fieldViolation("key.expire_time", "must be in the future", "key.expire_time.future");
  }
  return {
    displayName: key?.displayName ?? "",
    scopes: scopes.map(scopeName),
    allowedRoutes: [...new Set(key?.allowedRoutes ?? [])],
    allowedModels: [...new Set(key?.allowedModels ?? [])],
    tags: { ...key?.tags },
    expiresAt,
  };
}

/** A key id for a CreateKey without one: `k-` and 12 random base36 characters. */
function generatedKeyId(): string {
  return `k-${BigInt(`0x${randomBytes(8).toString("hex")}`).toString(36).padStart(13, "0").slice(-12)}`;
}
