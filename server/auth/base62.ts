/** The base62 alphabet: digits, then upper case, then lower case (GitHub's token order). */
const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const BASE = 62n;

/**
 * Encodes a non-negative integer in base62, left-padded with `0` to `width` characters.
 * Throws when the value needs more than `width` characters, so fixed-width fields stay fixed.
 */
export function base62(value: bigint, width: number): string {
  if (value < 0n) throw new RangeError("base62: negative value");
  let out = "";
  let rest = value;
  while (rest > 0n) {
    out = ALPHABET[Number(rest % BASE)]! + out;
    rest /= BASE;
  }
  if (out.length > width) throw new RangeError(`base62: value needs ${out.length} characters, more than ${width}`);
  return out.padStart(width, "0");
}

/** Encodes bytes as one big-endian integer in base62, `width` characters wide. */
export function base62Bytes(bytes: Uint8Array, width: number): string {
  return base62(bytes.length === 0 ? 0n : BigInt(`0x${Buffer.from(bytes).toString("hex")}`), width);
}
