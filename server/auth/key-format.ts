import { randomBytes } from "node:crypto";
import { crc32 } from "node:zlib";
import { base62, base62Bytes } from "./base62.js";

/** Every virtual key starts with this, so secret scanners and humans recognise one. */
export const KEY_PREFIX = "sb_";
/** The environment word of keys this gateway issues: `sb_live_…`. */
export const KEY_ENVIRONMENT = "live";
/** Random bytes per secret: 256 bits from the CSPRNG (≥ 128 is the floor, §3.2). */
const RANDOM_BYTES = 32;
/** 32 bytes need 43 base62 characters (62^43 > 2^256). */
const RANDOM_CHARS = 43;
/** CRC32 fits in 6 base62 characters (62^6 > 2^32). */
const CHECKSUM_CHARS = 6;
/** Random characters kept in the display prefix: enough to tell keys apart, far too few to guess. */
const DISPLAY_RANDOM_CHARS = 4;

const KEY_PATTERN = new RegExp(
  `^${KEY_PREFIX}([a-z]{2,16})_([0-9A-Za-z]{${RANDOM_CHARS}})([0-9A-Za-z]{${CHECKSUM_CHARS}})$`,
);

/**
 * A new virtual-key secret: `sb_<env>_` + 256 random bits in base62 (43 chars) + a 6-char
 * base62 CRC32 checksum of everything before it. 57 characters for `live`.
 *
 * The checksum is not a security measure: like GitHub's `ghp_` tokens it lets a secret scanner
 * (or this gateway, before touching the database) tell a real key from a typo or a random
 * string offline.
 */
export function generateSecret(environment: string = KEY_ENVIRONMENT): string {
  if (!/^[a-z]{2,16}$/.test(environment)) throw new Error(`invalid key environment word "${environment}"`);
  const body = `${KEY_PREFIX}${environment}_${base62Bytes(randomBytes(RANDOM_BYTES), RANDOM_CHARS)}`;
  return body + checksum(body);
}

/** What {@link parseSecret} reads from a well-formed secret. */
export interface ParsedSecret {
  /** The environment word, e.g. `live`. */
  environment: string;
  /** The prefix shown in lists: `sb_live_` plus the first random characters. */
  displayPrefix: string;
}

/**
 * Checks a presented secret's shape and checksum without any I/O. `undefined` for anything
 * malformed, so a bad key is refused before a database lookup (P19).
 */
export function parseSecret(secret: string): ParsedSecret | undefined {
  const match = KEY_PATTERN.exec(secret);
  if (match === null) return undefined;
  const [, environment, random, sum] = match as unknown as [string, string, string, string];
  const body = `${KEY_PREFIX}${environment}_${random}`;
  if (checksum(body) !== sum) return undefined;
  return { environment, displayPrefix: `${KEY_PREFIX}${environment}_${random.slice(0, DISPLAY_RANDOM_CHARS)}` };
}

/** CRC32 of the UTF-8 bytes of `body`, in base62, 6 characters. */
export function checksum(body: string): string {
  return base62(BigInt(crc32(body)), CHECKSUM_CHARS);
}
