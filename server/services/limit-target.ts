import { Code, ConnectError } from "@connectrpc/connect";
import { fieldViolation } from "../errors/field-violation.js";
import type { KeyStore } from "../store/key-store.js";
import type { LimitTarget } from "../store/limit-store.js";
import type { OrgScope } from "../store/paging.js";
import type { OrgRecord, TenantStore } from "../store/tenant-store.js";

const SEGMENT = "[a-z0-9][a-z0-9-]{0,62}";
const ORG = new RegExp(`^orgs/(${SEGMENT})$`);
const TEAM = new RegExp(`^orgs/(${SEGMENT})/teams/(${SEGMENT})$`);
const KEY = new RegExp(`^orgs/(${SEGMENT})/teams/(${SEGMENT})/keys/(${SEGMENT})$`);
/** Tag keys as `RequestOptions.tags` allows them; values up to 256 characters. */
const TAG = /^tags\/([a-zA-Z0-9_.:/-]{1,64})=(.{0,256})$/s;

/**
 * Resolves a budget's or rate limit's `target` within the org that owns it: `orgs/{org}`, one of
 * its teams or keys, or `tags/{key}={value}` (calls of the org carrying that tag). The target is
 * stored with the internal id it names, so renaming nothing and deleting a key later leaves the
 * limit pointing at no one rather than at a new key of the same name. Errors name `field`.
 */
export async function resolveLimitTarget(
  deps: { tenants: TenantStore; keys: KeyStore },
  org: OrgRecord,
  scope: OrgScope,
  target: string,
  field: string,
): Promise<LimitTarget> {
  const outside = () => fieldViolation(field, `${target} is not in orgs/${org.name}`, "limit_target.org");
  const tag = TAG.exec(target);
  if (tag !== null) return { target, level: "tag", targetId: `${tag[1]}=${tag[2]}` };
  const o = ORG.exec(target);
  if (o !== null) {
    if (o[1] !== org.name) throw outside();
    return { target, level: "org", targetId: org.id };
  }
  const t = TEAM.exec(target);
  if (t !== null) {
    if (t[1] !== org.name) throw outside();
    const team = await deps.tenants.getTeam(t[1]!, t[2]!, scope);
    if (team === undefined) throw new ConnectError(`${field}: team ${target} not found`, Code.NotFound);
    return { target, level: "team", targetId: team.id };
  }
  const k = KEY.exec(target);
  if (k !== null) {
    if (k[1] !== org.name) throw outside();
    const key = await deps.keys.getKey({ orgName: k[1]!, teamName: k[2]!, name: k[3]! }, scope);
    if (key === undefined) throw new ConnectError(`${field}: key ${target} not found`, Code.NotFound);
    return { target, level: "key", targetId: key.id };
  }
  throw fieldViolation(field, "must be orgs/{org}, orgs/{org}/teams/{team}, orgs/{org}/teams/{team}/keys/{key} or tags/{key}={value}", "limit_target.form");
}
