import { generateKeyPairSync } from "node:crypto";

const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Base64 lines of 64 as PEM writes them, `n` characters in all (deterministic). */
function base64Lines(n: number): string {
  const chars = Array.from({ length: n }, (_, i) => B64[(i * 37 + (i >> 6)) % 64]).join("");
  return chars.match(/.{1,64}/g)!.join("\n");
}

/** PEM private keys in the forms answers carry them, each whole from header to footer. */
export const PEM_KEYS = {
  /** A real RSA key, PKCS#8. */
  pkcs8: privateKey.export({ type: "pkcs8", format: "pem" }).toString().trimEnd(),
  /** A real RSA key, PKCS#1 encrypted the legacy way: RFC 1421 `Proc-Type:` and `DEK-Info:` lines. */
  encrypted: privateKey.export({ type: "pkcs1", format: "pem", cipher: "aes-128-cbc", passphrase: "pw" }).toString().trimEnd(),
  /** The PKCS#8 key as a JSON string's content (a service-account file): `\n` escapes. */
  jsonEscaped: JSON.stringify(privateKey.export({ type: "pkcs8", format: "pem" }).toString().trimEnd()).slice(1, -1),
  /** The PKCS#8 key on one line, its line breaks turned into spaces. */
  oneLine: privateKey.export({ type: "pkcs8", format: "pem" }).toString().trimEnd().replace(/\n/g, " "),
  /** The size of the largest RSA key OpenSSL and OpenSSH generate (16 384 bits): ≈ 13 KiB of base64. */
  rsa16384: `-----BEGIN PRIVATE KEY-----\n${base64Lines(13_100)}\n-----END PRIVATE KEY-----`,
} as const;

/** 40 characters from the middle of `key`'s body, to check none of it was sent. */
export function bodyPart(key: string): string {
  const mid = Math.floor(key.length / 2);
  return key.slice(mid, mid + 40);
}
