import type { Kysely } from "kysely";
import { createBootstrapStore } from "../store/bootstrap-store.js";
import type { Database } from "../store/schema.js";
import { generateSecret, parseSecret } from "./key-format.js";
import { ALL_SCOPES, scopeName } from "./scopes.js";
import { hashSecret } from "./secret-hash.js";

/** Resource name of the bootstrap key: `orgs/system/teams/admins/keys/bootstrap`. */
export const BOOTSTRAP_KEY_NAME = "orgs/system/teams/admins/keys/bootstrap";

/** Dependencies of {@link bootstrapAdminKey}. */
export interface BootstrapDeps {
  db: Kysely<Database>;
  pepper: string;
}

/** Options of {@link bootstrapAdminKey}. */
export interface BootstrapOptions {
  /** A secret to use (`SWITCHBOARD_BOOTSTRAP_KEY`, already format-checked by the config); unset: generate one. */
  secret?: string;
}

/** What {@link bootstrapAdminKey} did. */
export type BootstrapResult =
  /** The database already had keys: nothing was written. */
  | { created: false }
  /** Created; `secret` is set only when generated here, for the banner to print once. */
  | { created: true; secret?: string };

/**
 * Makes sure a fresh installation can be administered: when the database holds no key at all,
 * creates org `system`, team `admins` and key `bootstrap` holding every scope (platform admin
 * included). Only the secret's HMAC is stored. Safe when several replicas start at once: exactly
 * one creates the key (see `BootstrapStore.createIfNoKeys`), and only that one returns a secret.
 */
export async function bootstrapAdminKey(deps: BootstrapDeps, opts: BootstrapOptions = {}): Promise<BootstrapResult> {
  const secret = opts.secret ?? generateSecret();
  const parsed = parseSecret(secret);
  if (parsed === undefined) throw new Error("bootstrap key is not a well-formed Switchboard key");
  const created = await createBootstrapStore(deps.db).createIfNoKeys({
    orgName: "system",
    orgDisplayName: "System",
    teamName: "admins",
    teamDisplayName: "Platform admins",
    keyName: "bootstrap",
    fields: {
      displayName: "Bootstrap admin key",
      scopes: ALL_SCOPES.map(scopeName),
      allowedRoutes: [],
      allowedModels: [],
      tags: {},
      expiresAt: null,
    },
    secret: { secretHmac: hashSecret(secret, deps.pepper), displayPrefix: parsed.displayPrefix },
  });
  if (!created) return { created: false };
  return opts.secret === undefined ? { created: true, secret } : { created: true };
}
