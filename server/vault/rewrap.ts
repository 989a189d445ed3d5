import type { CredentialStore } from "../store/credential-store.js";
import { bindingOf } from "./credential-resolver.js";
import { rewrap, VaultError } from "./envelope.js";
import type { Keyring } from "./master-key.js";

/** What {@link rewrapCredentials} did. */
export interface RewrapResult {
  /** Rows whose data key now sits under the current master key because of this run. */
  rewrapped: number;
  /** The current master key's id. */
  masterKeyId: string;
  /** Rows left as they were because their master key is not in the keyring, by key id. */
  missing: ReadonlyMap<string, number>;
  /** Rows left as they were because their data key does not open (a damaged row), by resource name. */
  undecryptable: readonly string[];
}

/** Rows read per page. */
const PAGE = 100;

/**
 * Online master-key rotation: re-wraps every credential's data key that is not under the current
 * master key. Values are never decrypted (only data keys, in memory) and each row is replaced by
 * one conditional update, so a concurrent read decrypts either the old or the new wrapping (both
 * keys are in the keyring) and a concurrent value change, which writes a fresh data key under the
 * current key anyway, is never overwritten. Safe to run again, or on several replicas at once.
 */
export async function rewrapCredentials(
  deps: { credentials: Pick<CredentialStore, "listWrappedByOther" | "replaceWrap">; keyring: Keyring },
): Promise<RewrapResult> {
  const { keyring } = deps;
  let rewrapped = 0;
  const missing = new Map<string, number>();
  const undecryptable: string[] = [];
  let after: string | undefined;
  do {
    const page = await deps.credentials.listWrappedByOther(keyring.current.id, { limit: PAGE, ...(after !== undefined ? { after } : {}) });
    for (const record of page.items) {
      const from = record.seal.masterKeyId;
      if (keyring.get(from) === undefined) {
        missing.set(from, (missing.get(from) ?? 0) + 1);
        continue;
      }
      const binding = bindingOf(record);
      let next;
      try {
        next = rewrap(record.seal, binding, keyring);
      } catch (err) {
        // One damaged row must not stop the rotation of every row after it: reported, not thrown.
        if (!(err instanceof VaultError)) throw err;
        undecryptable.push(binding.resourceName);
        continue;
      }
      if (await deps.credentials.replaceWrap(record.id, record.version, from, next)) rewrapped++;
    }
    after = page.after;
  } while (after !== undefined);
  return { rewrapped, masterKeyId: keyring.current.id, missing, undecryptable };
}
