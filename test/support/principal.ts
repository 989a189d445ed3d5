import type { Principal } from "../../server/auth/principal.js";

/**
 * A caller as the authenticator hands it on, for tests that put one in a handler's context
 * directly: a key of org `org_1` with no scopes, no route or model restriction, no tags and no expiry,
 * unless `fields` says otherwise.
 */
export function testPrincipal(fields: Partial<Principal> = {}): Principal {
  return {
    orgId: "org_1",
    teamId: "team_1",
    keyId: "key_1",
    keyName: "orgs/acme/teams/web/keys/ci",
    scopes: new Set(),
    allowedRoutes: [],
    allowedModels: [],
    tags: {},
    expiresAt: null,
    ...fields,
  };
}
