/**
 * Text to UTF-8 bytes without `TextEncoder`.
 *
 * On Node 20 `TextEncoder.encode` costs ≈ 0.7 µs for a short string (a model name, a request id)
 * against ≈ 0.09 µs for `Buffer.from(text, "utf8")`, and is slower for long text too (1.5 against
 * 0.9 µs for 2,000 characters). protobuf-es encodes every `string` field through the Text
 * Encoding API, so a `ChatResponse` with its usage and attempts spent ≈ 9 of its 15.5 µs there
 * (bench/README.md, sixteenth pass). Both produce the same bytes — an unpaired surrogate becomes
 * U+FFFD (EF BF BD) in each; `utf8-encoding.test.ts` checks that for arbitrary text.
 */
import { configureTextEncoding, getTextEncoding } from "@bufbuild/protobuf/wire";

/**
 * `text` as UTF-8, the bytes `new TextEncoder().encode(text)` gives. A plain `Uint8Array` view,
 * not a `Buffer`: a short string's bytes sit in Node's shared 8 KB pool, and `Buffer#slice` does
 * not copy where `Uint8Array#slice` does — a caller that keeps a copy (`slice()`) must get one.
 */
export function utf8Bytes(text: string): Uint8Array<ArrayBuffer> {
  const b = Buffer.from(text, "utf8");
  // Node's pool and a large string's own storage are both plain ArrayBuffers.
  return new Uint8Array(b.buffer as ArrayBuffer, b.byteOffset, b.byteLength);
}

/**
 * Makes protobuf-es encode `string` fields with {@link utf8Bytes} (its decoding and UTF-8 check
 * stay its own). Process-wide, as protobuf-es's setting is; idempotent. The writer copies every
 * chunk into the message's own buffer when it finishes, so no encoded message shares the pool.
 */
export function installUtf8Encoding(): void {
  const current = getTextEncoding();
  if (current.encodeUtf8 === utf8Bytes) return;
  configureTextEncoding({ encodeUtf8: utf8Bytes, decodeUtf8: current.decodeUtf8, checkUtf8: current.checkUtf8 });
}
