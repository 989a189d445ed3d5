import type { Kysely } from "kysely";
import { systemClock, type Clock } from "../clock.js";
import type { Logger } from "../observability/logger.js";
import { createCredentialStore, type CredentialStore } from "../store/credential-store.js";
import type { Database } from "../store/schema.js";
import { createCredentialResolver, type CredentialResolverOptions, type ResolvedCredential } from "./credential-resolver.js";
import { seal, type Binding, type Sealed } from "./envelope.js";
import type { Keyring } from "./master-key.js";
import { rewrapCredentials, type RewrapResult } from "./rewrap.js";

/** Dependencies of {@link createVault}. */
export interface VaultDeps {
  db: Kysely<Database>;
  keyring: Keyring;
  logger: Logger;
  clock?: Clock;
}

/**
 * The credential vault of one replica: the store, the keyring, and the decrypted-value cache that
 * dispatch reads through. `main.ts` builds one and hands it to the model layer (`resolve`) and to
 * the server (CredentialService).
 */
export interface Vault {
  readonly keyring: Keyring;
  readonly credentials: CredentialStore;
  /** The decrypted value of credential `name`, or `undefined` when the vault has none (see `CredentialResolver`). */
  resolve(name: string): Promise<string | undefined>;
  /** The value with the credential's settings (what dispatch reads: the endpoint is in them). */
  resolveCredential(name: string): Promise<ResolvedCredential | undefined>;
  /** Drops `name` from this replica's cache at once. */
  forget(name: string): void;
  /** Envelope-encrypts a value for its row under the current master key. */
  seal(value: string, binding: Binding): Sealed;
  /** Re-wraps every data key with the current master key (`RewrapCredentials`). */
  rewrapAll(): Promise<RewrapResult>;
  /**
   * Master keys that wrap stored credentials but are not in the keyring, with how many each wraps.
   * Non-empty means those credentials cannot be decrypted: `main.ts` refuses to start.
   */
  missingMasterKeys(): Promise<Array<{ masterKeyId: string; count: number }>>;
}

/** Creates the {@link Vault}. */
export function createVault(deps: VaultDeps, opts: CredentialResolverOptions = {}): Vault {
  const credentials = createCredentialStore(deps.db);
  const resolver = createCredentialResolver(
    { credentials, keyring: deps.keyring, logger: deps.logger, clock: deps.clock ?? systemClock },
    opts,
  );
  return {
    keyring: deps.keyring,
    credentials,
    resolve: (name) => resolver.resolve(name),
    resolveCredential: (name) => resolver.resolveCredential(name),
    forget: (name) => resolver.forget(name),
    seal: (value, binding) => seal(value, binding, deps.keyring),
    rewrapAll: () => rewrapCredentials({ credentials, keyring: deps.keyring }),
    async missingMasterKeys() {
      return (await credentials.countByMasterKey()).filter((k) => deps.keyring.get(k.masterKeyId) === undefined);
    },
  };
}
