import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { KeySchema, KeyState, type Key } from "../../gen/ts/switchboard/v1/key_service_pb.js";
import { scopeFromName } from "../auth/scopes.js";
import type { KeyRecord } from "../store/key-store.js";

/**
 * The API form of a stored key at time `now`: never a secret or a hash. A key past its expiry
 * reads as `KEY_STATE_EXPIRED`; the rotated-out secret's end is shown only while it still works.
 */
export function keyMessage(key: KeyRecord, now: number): Key {
  const expired = key.expiresAt !== null && key.expiresAt.getTime() <= now;
  const state = key.state === "revoked" ? KeyState.REVOKED : expired ? KeyState.EXPIRED : KeyState.ACTIVE;
  const grace = key.previousSecretExpiresAt;
  return create(KeySchema, {
    name: `orgs/${key.orgName}/teams/${key.teamName}/keys/${key.name}`,
    displayName: key.displayName,
    displayPrefix: key.displayPrefix,
    scopes: key.scopes.map(scopeFromName).filter((s) => s !== undefined),
    allowedRoutes: [...key.allowedRoutes],
    allowedModels: [...key.allowedModels],
    tags: { ...key.tags },
    state,
    createTime: timestampFromDate(key.createdAt),
    ...(key.expiresAt !== null ? { expireTime: timestampFromDate(key.expiresAt) } : {}),
    ...(key.revokedAt !== null ? { revokeTime: timestampFromDate(key.revokedAt) } : {}),
    ...(grace !== null && grace.getTime() > now ? { previousSecretExpireTime: timestampFromDate(grace) } : {}),
    ...(key.lastUsedAt !== null ? { lastUsedTime: timestampFromDate(key.lastUsedAt) } : {}),
  });
}
