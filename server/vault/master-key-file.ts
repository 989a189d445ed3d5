import { randomBytes } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { createFileDurably } from "../runtime/durable-file.js";
import { createKeyring, masterKey, MASTER_KEY_BYTES, parseMasterKey, type Keyring } from "./master-key.js";

/** Where {@link resolveEmbeddedMasterKey} found or put the master key. */
export interface ResolvedMasterKey {
  key: Buffer;
  /** `file`: read from `<dataDir>/master-key`; `generated`: written there now; `memory`: in-memory database. */
  source: "file" | "generated" | "memory";
  /** Set when other users can read the file (mode not 0600): worth a warning. */
  looseMode?: string;
}

/**
 * The master key of the embedded (PGlite) setup when none is configured: read from
 * `<dataDir>/master-key` (base64), or on first start 32 random bytes written there with mode 0600
 * and used from then on. An in-memory database (`memory://…`) gets a random key that lives as
 * long as the process, like the data. Call after the database has created `dataDir`.
 *
 * The file sits beside the data it protects, which guards a copied database dump, not a copied
 * folder: production deployments set `SWITCHBOARD_MASTER_KEY` from a secret store instead (and
 * must, with `DATABASE_URL`).
 */
export function resolveEmbeddedMasterKey(dataDir: string): ResolvedMasterKey {
  if (dataDir.startsWith("memory://")) return { key: randomBytes(MASTER_KEY_BYTES), source: "memory" };
  const file = join(dataDir, "master-key");
  try {
    // Durably: credentials sealed with this key are synced to the database from the first call
    // on, so a power cut must not leave them behind an empty key file.
    createFileDurably(file, `${randomBytes(MASTER_KEY_BYTES).toString("base64")}\n`, 0o600);
    return { key: readKey(file), source: "generated" };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  const key = readKey(file);
  const mode = statSync(file).mode & 0o777;
  return { key, source: "file", ...((mode & 0o077) !== 0 ? { looseMode: mode.toString(8).padStart(4, "0") } : {}) };
}

function readKey(file: string): Buffer {
  const parsed = parseMasterKey(readFileSync(file, "utf8"));
  if ("error" in parsed) {
    throw new Error(`${file}: the master key ${parsed.error}; restore the file (without it, stored credentials cannot be decrypted)`);
  }
  return parsed.key;
}

/** Where the master keys come from (`vault.*` of the config, and the PGlite folder). */
export interface KeyringSources {
  /** `vault.masterKey` (base64), already validated by the config. */
  masterKey?: string;
  /** `vault.previousMasterKey` (base64), during a rotation. */
  previousMasterKey?: string;
  /** The embedded database's folder: where a generated key lives when none is configured. */
  dataDir: string;
}

/**
 * The keyring of this replica: the configured keys, or (embedded default, none configured) the
 * key kept in `<dataDir>/master-key`. `looseMode` is set when that file is readable by others.
 */
export function resolveKeyring(sources: KeyringSources): { keyring: Keyring; looseMode?: string } {
  const decode = (text: string, path: string): Buffer => {
    const parsed = parseMasterKey(text);
    if ("error" in parsed) throw new Error(`${path}: the master key ${parsed.error}`);
    return parsed.key;
  };
  if (sources.masterKey === undefined) {
    const resolved = resolveEmbeddedMasterKey(sources.dataDir);
    return { keyring: createKeyring(masterKey(resolved.key)), ...(resolved.looseMode ? { looseMode: resolved.looseMode } : {}) };
  }
  const current = masterKey(decode(sources.masterKey, "vault.masterKey"));
  const previous = sources.previousMasterKey === undefined ? undefined : masterKey(decode(sources.previousMasterKey, "vault.previousMasterKey"));
  return { keyring: createKeyring(current, previous) };
}
