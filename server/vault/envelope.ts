import { createCipheriv, createDecipheriv, randomBytes, type KeyObject } from "node:crypto";
import type { Keyring, MasterKey } from "./master-key.js";

const ALGORITHM = "aes-256-gcm";
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const DATA_KEY_BYTES = 32;

/**
 * What a ciphertext is bound to: the row it belongs to. Both encryptions take it as additional
 * authenticated data, so a ciphertext (or wrapped key) copied to another row, another org, another
 * name or another version of the value fails to decrypt instead of yielding the wrong secret.
 */
export interface Binding {
  /** The row's internal id (`cred_…`). */
  credentialId: string;
  /** The owning org's internal id; null for a global credential. */
  orgId: string | null;
  /** `credentials/{id}` or `orgs/{org}/credentials/{id}`. */
  resourceName: string;
  /** The value's version: bumped whenever the value is replaced. */
  version: number;
}

/** A sealed value as stored: ciphertext under a data key, the data key wrapped by a master key. */
export interface Sealed {
  masterKeyId: string;
  /** The data key under the master key, GCM tag appended (48 bytes). */
  wrappedKey: Buffer;
  keyNonce: Buffer;
  /** The value under the data key, GCM tag appended. */
  ciphertext: Buffer;
  valueNonce: Buffer;
}

/**
 * A sealed value that cannot be opened (wrong or missing master key, or ciphertext that does not
 * belong to this row). The message names the credential and the master key id, never a value.
 */
export class VaultError extends Error {
  override readonly name = "VaultError";
}

/**
 * Envelope-encrypts `value` for the row `binding`: a fresh random 256-bit data key encrypts the
 * value (AES-256-GCM, random 96-bit nonce), and the keyring's current master key wraps the data
 * key (AES-256-GCM, its own random nonce). Each data key encrypts exactly one value, so the
 * random-nonce limit of 2³² messages per key (NIST SP 800-38D) concerns only the master key, which
 * encrypts once per credential write or re-wrap.
 */
export function seal(value: string, binding: Binding, keyring: Keyring): Sealed {
  const dataKey = randomBytes(DATA_KEY_BYTES);
  try {
    const valueNonce = randomBytes(NONCE_BYTES);
    const ciphertext = encrypt(dataKey, valueNonce, Buffer.from(value, "utf8"), valueAad(binding));
    return { ...wrap(dataKey, binding, keyring.current), ciphertext, valueNonce };
  } finally {
    dataKey.fill(0);
  }
}

/** Decrypts a sealed value of the row `binding`; {@link VaultError} when it cannot. */
export function open(sealed: Sealed, binding: Binding, keyring: Keyring): string {
  const dataKey = unwrap(sealed, binding, keyring);
  try {
    return decrypt(dataKey, sealed.valueNonce, sealed.ciphertext, valueAad(binding), binding).toString("utf8");
  } finally {
    dataKey.fill(0);
  }
}

/**
 * Re-wraps the data key of a sealed value with the current master key. The value's ciphertext is
 * untouched and the value is never decrypted: only the data key is, in memory, and it is zeroed
 * after. A value already under the current key is returned as it is.
 */
export function rewrap(sealed: Sealed, binding: Binding, keyring: Keyring): Sealed {
  if (sealed.masterKeyId === keyring.current.id) return sealed;
  const dataKey = unwrap(sealed, binding, keyring);
  try {
    return { ...sealed, ...wrap(dataKey, binding, keyring.current) };
  } finally {
    dataKey.fill(0);
  }
}

function wrap(dataKey: Buffer, binding: Binding, master: MasterKey): Pick<Sealed, "masterKeyId" | "wrappedKey" | "keyNonce"> {
  const keyNonce = randomBytes(NONCE_BYTES);
  return { masterKeyId: master.id, wrappedKey: encrypt(master.key, keyNonce, dataKey, keyAad(binding, master.id)), keyNonce };
}

function unwrap(sealed: Sealed, binding: Binding, keyring: Keyring): Buffer {
  const master = keyring.get(sealed.masterKeyId);
  if (master === undefined) {
    throw new VaultError(`${binding.resourceName} is wrapped by master key ${sealed.masterKeyId}, which this replica does not hold`);
  }
  const dataKey = decrypt(master.key, sealed.keyNonce, sealed.wrappedKey, keyAad(binding, master.id), binding);
  if (dataKey.length !== DATA_KEY_BYTES) throw new VaultError(`${binding.resourceName}: the data key has the wrong length`);
  return dataKey;
}

function encrypt(key: KeyObject | Buffer, nonce: Buffer, plaintext: Buffer, aad: Buffer): Buffer {
  const cipher = createCipheriv(ALGORITHM, key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

function decrypt(key: KeyObject | Buffer, nonce: Buffer, sealed: Buffer, aad: Buffer, binding: Binding): Buffer {
  if (nonce.length !== NONCE_BYTES || sealed.length < TAG_BYTES) throw new VaultError(`${binding.resourceName}: malformed ciphertext`);
  let unverified: Buffer | undefined;
  try {
    const decipher = createDecipheriv(ALGORITHM, key, nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    unverified = decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES));
    return Buffer.concat([unverified, decipher.final()]);
  } catch {
    // `update` output is not authenticated until `final` passes: nothing of it is returned.
    throw new VaultError(`${binding.resourceName} does not decrypt: wrong master key, or ciphertext that belongs to another row`);
  } finally {
    // The result is a copy (Buffer.concat always allocates); the intermediate is wiped either way.
    unverified?.fill(0);
  }
}

function valueAad(b: Binding): Buffer {
  return Buffer.from(JSON.stringify(["switchboard.credential.value.v1", b.credentialId, b.orgId ?? "", b.resourceName, b.version]));
}

function keyAad(b: Binding, masterKeyId: string): Buffer {
  return Buffer.from(JSON.stringify(["switchboard.credential.data-key.v1", b.credentialId, b.orgId ?? "", b.resourceName, b.version, masterKeyId]));
}
