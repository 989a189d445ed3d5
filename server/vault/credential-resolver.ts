import type { Clock } from "../clock.js";
import type { Logger } from "../observability/logger.js";
import type { CredentialRecord, CredentialStore } from "../store/credential-store.js";
import { credentialName, parseCredentialName } from "./credential-names.js";
import { open, VaultError, type Binding } from "./envelope.js";
import type { Keyring } from "./master-key.js";

/** Dependencies of {@link createCredentialResolver}. */
export interface CredentialResolverDeps {
  credentials: Pick<CredentialStore, "find">;
  keyring: Keyring;
  logger: Logger;
  clock: Clock;
}

/** Options of {@link createCredentialResolver}; the defaults are the documented behaviour. */
export interface CredentialResolverOptions {
  /**
   * How long a decrypted value (or the absence of a credential) is used without reading the row
   * again (default 30 000 ms): the bound on how long another replica keeps using a replaced or
   * deleted credential. The replica that changed it forgets at once.
   */
  cacheTtlMs?: number;
  /** While the database is unreachable, a value read at most this long ago keeps serving (default 300 000 ms). */
  maxStaleMs?: number;
}

/** A stored credential as dispatch uses it: the decrypted value and the non-secret settings. */
export interface ResolvedCredential {
  value: string;
  /** `Credential.settings` (`base_url`, `api_version`, …), as stored. */
  settings: Readonly<Record<string, string>>;
}

/** Decrypted provider keys by credential name, for dispatch. */
export interface CredentialResolver {
  /**
   * The value of credential `name` (`credentials/{id}` or `orgs/{org}/credentials/{id}`), or
   * `undefined` when the vault has none by that name. Throws when the row exists but cannot be
   * decrypted (logged loudly, without the value) or the database cannot be read and no recent
   * value is cached.
   */
  resolve(name: string): Promise<string | undefined>;
  /** As {@link resolve}, with the credential's settings (read with the value, cached with it). */
  resolveCredential(name: string): Promise<ResolvedCredential | undefined>;
  /** Drops `name` from this replica's cache at once (after a change or delete here). */
  forget(name: string): void;
}

interface Entry {
  value: ResolvedCredential | undefined;
  fetchedAt: number;
}

/** The binding a stored credential was sealed for. */
export function bindingOf(record: CredentialRecord): Binding {
  return {
    credentialId: record.id,
    orgId: record.orgId,
    resourceName: credentialName({ orgName: record.orgName, id: record.name }),
    version: record.version,
  };
}

/**
 * Creates the vault's read path: one row read and decryption per name per TTL (concurrent misses
 * share one read), a database outage served from values read in the last `maxStaleMs`, and
 * decryption failures logged at error level with the credential's name and master key id only.
 */
export function createCredentialResolver(deps: CredentialResolverDeps, opts: CredentialResolverOptions = {}): CredentialResolver {
  const ttlMs = opts.cacheTtlMs ?? 30_000;
  const maxStaleMs = opts.maxStaleMs ?? 300_000;
  const cache = new Map<string, Entry>();
  const inFlight = new Map<string, Promise<ResolvedCredential | undefined>>();
  // Bumped by every forget: a read that started before it must not put back what it read.
  let epoch = 0;

  const load = async (name: string): Promise<ResolvedCredential | undefined> => {
    const ref = parseCredentialName(name);
    if (ref === undefined) return undefined;
    const startedEpoch = epoch;
    const startedAt = deps.clock.now();
    let record: CredentialRecord | undefined;
    try {
      record = await deps.credentials.find(ref.orgName, ref.id);
    } catch (err) {
      const stale = cache.get(name);
      if (stale !== undefined && startedAt - stale.fetchedAt < maxStaleMs) {
        deps.logger.warn({ credential: name, err: err instanceof Error ? err.message : String(err) }, "credential lookup failed; serving the cached value");
        return stale.value;
      }
      throw err;
    }
    let value: ResolvedCredential | undefined;
    if (record !== undefined) {
      try {
        value = { value: open(record.seal, bindingOf(record), deps.keyring), settings: Object.freeze({ ...record.settings }) };
      } catch (err) {
        if (err instanceof VaultError) {
          deps.logger.error({ credential: name, masterKeyId: record.seal.masterKeyId, err: err.message }, "credential cannot be decrypted");
        }
        throw err;
      }
    }
    if (epoch === startedEpoch) cache.set(name, { value, fetchedAt: startedAt });
    return value;
  };

  const resolver: CredentialResolver = {
    async resolve(name) {
      return (await resolver.resolveCredential(name))?.value;
    },
    resolveCredential(name) {
      const cached = cache.get(name);
      // Read "after" now: before the wall clock stepped back, so its age is unknown; read again.
      const age = cached === undefined ? -1 : deps.clock.now() - cached.fetchedAt;
      if (cached !== undefined && age >= 0 && age < ttlMs) return Promise.resolve(cached.value);
      let pending = inFlight.get(name);
      if (pending === undefined) {
        const started = load(name);
        pending = started;
        inFlight.set(name, started);
        const settled = () => {
          if (inFlight.get(name) === started) inFlight.delete(name);
        };
        started.then(settled, settled);
      }
      return pending;
    },
    forget(name) {
      epoch++;
      cache.delete(name);
      inFlight.delete(name);
    },
  };
  return resolver;
}
