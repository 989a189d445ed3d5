import { hostname } from "node:os";
import type { Kysely } from "kysely";
import { chainHash } from "../audit/chain.js";
import { systemClock, type Clock } from "../clock.js";
import { appendAuditEvent } from "../store/audit-store.js";
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
  /** Decides which keys have expired (default: the system clock). */
  clock?: Clock;
}

/** Options of {@link bootstrapAdminKey}. */
export interface BootstrapOptions {
  /** A secret to use (`SWITCHBOARD_BOOTSTRAP_KEY`, already format-checked by the config); unset: generate one. */
  secret?: string;
}

/** What {@link bootstrapAdminKey} did. */
export type BootstrapResult =
  /**
   * Nothing was written: the database had keys, and an admin key or no `secret` to recover with;
   * `secretInUse` when no admin key is left but a key already holds `secret`.
   */
  | { created: false; secretInUse?: true }
  /**
   * Created; `secret` is set only when generated here, for the banner to print once; `recovered`
   * names the break-glass key when that is what was created.
   */
  | { created: true; secret?: string; recovered?: string };

/** The audit action of a break-glass key install. */
export const BREAK_GLASS_ACTION = "switchboard.auth/InstallBreakGlassKey";

/**
 * Makes sure the installation can be administered.
 *
 * When the database holds no key at all, creates org `system`, team `admins` and key `bootstrap`
 * holding every scope (platform admin included). Safe when several replicas start at once: exactly
 * one creates the key (see `BootstrapStore.createIfNoKeys`), and only that one returns a secret.
 *
 * The break-glass: when it holds keys but none is an active, unexpired platform admin (KeyService
 * refuses to take away the last one that never expires, but admin keys from before that rule, or
 * keys given an expiry, can all lapse), and only when the operator supplied `secret`, installs it
 * as `orgs/system/teams/admins/keys/recovery-{UTC time}` with every scope, audited in the same
 * transaction. Never with a generated secret (a restart must not print a new admin key), nor with
 * a secret a key already holds (a revoked or expired secret stays so).
 *
 * Only the secret's HMAC is stored.
 */
export async function bootstrapAdminKey(deps: BootstrapDeps, opts: BootstrapOptions = {}): Promise<BootstrapResult> {
  const secret = opts.secret ?? generateSecret();
  const parsed = parseSecret(secret);
  if (parsed === undefined) throw new Error("bootstrap key is not a well-formed Switchboard key");
  const store = createBootstrapStore(deps.db);
  const key = {
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
  };
  if (await store.createIfNoKeys(key)) return opts.secret === undefined ? { created: true, secret } : { created: true };
  if (opts.secret === undefined) return { created: false };

  const now = new Date((deps.clock ?? systemClock).now());
  const keyName = `recovery-${now.toISOString().replace(/\D/g, "").slice(0, 14)}`;
  const name = `orgs/system/teams/admins/keys/${keyName}`;
  const recovery = { ...key, keyName, fields: { ...key.fields, displayName: "Break-glass admin key" } };
  const outcome = await store.recoverIfNoAdminKey(recovery, now, (tx) =>
    appendAuditEvent(
      tx,
      {
        actor: "",
        actorOrg: "",
        actorOrgId: null,
        action: BREAK_GLASS_ACTION,
        resource: name,
        before: null,
        after: { name, displayName: recovery.fields.displayName, displayPrefix: parsed.displayPrefix, scopes: recovery.fields.scopes },
        outcome: "success",
        code: "ok",
        peer: "",
        requestId: "",
        org: { name: "system" },
        replica: `${hostname()}/${process.pid}`,
      },
      () => now,
      chainHash,
    ),
  );
  if (outcome === "recovered") return { created: true, recovered: name };
  return outcome === "secret_in_use" ? { created: false, secretInUse: true } : { created: false };
}
