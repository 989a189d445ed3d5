import { createHash, createSecretKey, type KeyObject } from "node:crypto";

/** Bytes of a master key: AES-256. */
export const MASTER_KEY_BYTES = 32;

/** Fewer distinct byte values than this in 32 bytes is not random (P ≈ 0 for a CSPRNG): refused. */
const MIN_DISTINCT_BYTES = 16;

/**
 * Decodes a master key given as base64 (standard or URL-safe, padding optional): exactly 32
 * bytes, not an obviously weak value (a repeated byte, a counting pattern: anything with fewer
 * than 16 distinct byte values). Returns the reason instead of throwing, so the configuration can
 * report it at its path; the reason never quotes the value.
 */
export function parseMasterKey(text: string): { key: Buffer } | { error: string } {
  const trimmed = text.trim();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)) return { error: "is not base64" };
  const key = Buffer.from(trimmed.replace(/-/g, "+").replace(/_/g, "/"), "base64");
  if (key.length !== MASTER_KEY_BYTES) return { error: `decodes to ${key.length} bytes, not ${MASTER_KEY_BYTES}` };
  if (new Set(key).size < MIN_DISTINCT_BYTES) return { error: "is a weak key (too few distinct bytes); generate one with `openssl rand -base64 32`" };
  return { key };
}

/**
 * The id of a master key: `mk-` and the first 12 hex digits of a SHA-256 over a fixed label and
 * the key. Derived from the key itself, so a row names the one key that wraps it, a different key
 * can never pass for it, and nothing but the configured keys is needed to run. A hash of a 256-bit
 * random key reveals nothing about it.
 */
export function masterKeyId(key: Uint8Array): string {
  return `mk-${createHash("sha256").update("switchboard master key id\0").update(key).digest("hex").slice(0, 12)}`;
}

/** One master key: its id and the key as a `KeyObject` (which prints as no bytes if ever logged). */
export interface MasterKey {
  id: string;
  key: KeyObject;
}

/** The master keys a replica holds: one current (wraps everything new), optionally one previous. */
export interface Keyring {
  /** The key every new or re-wrapped data key is wrapped with. */
  readonly current: MasterKey;
  /** The key with this id, if this replica holds it. */
  get(id: string): MasterKey | undefined;
  /** Ids of every key held, current first. */
  readonly ids: readonly string[];
}

/** A master key from its raw bytes, with its derived id unless `id` is given (tests). */
export function masterKey(bytes: Uint8Array, id: string = masterKeyId(bytes)): MasterKey {
  if (bytes.length !== MASTER_KEY_BYTES) throw new Error(`a master key is ${MASTER_KEY_BYTES} bytes`);
  return { id, key: createSecretKey(Buffer.from(bytes)) };
}

/**
 * The keyring of `current` and, during a rotation, `previous` (the key the not yet re-wrapped rows
 * use). Two keys with the same id are refused: that is the same key configured twice.
 */
export function createKeyring(current: MasterKey, previous?: MasterKey): Keyring {
  if (previous !== undefined && previous.id === current.id) {
    throw new Error("the previous master key is the current one; unset the previous key or set a new current key");
  }
  const byId = new Map([current, ...(previous ? [previous] : [])].map((k) => [k.id, k]));
  return { current, get: (id) => byId.get(id), ids: [...byId.keys()] };
}
