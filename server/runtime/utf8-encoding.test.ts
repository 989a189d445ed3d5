import { create, toBinary } from "@bufbuild/protobuf";
import { configureTextEncoding, getTextEncoding } from "@bufbuild/protobuf/wire";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ChatResponseSchema } from "../../gen/ts/switchboard/v1/capability_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { installUtf8Encoding, utf8Bytes } from "./utf8-encoding.js";

const encoder = new TextEncoder();
/** Any UTF-16 text, unpaired surrogates included (fast-check's string units leave them out). */
const anyText = fc.oneof(
  fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 40 }).map((units) => String.fromCharCode(...units)),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.array(fc.constantFrom("\ud800", "\udfff", "\ud83d\ude00", "é", "a", "\u0000"), { maxLength: 12 }).map((parts) => parts.join("")),
  // Past Buffer's pool (4 KB): the bytes get their own storage.
  fc.string({ unit: "binary", minLength: 1500, maxLength: 2500 }),
);

describe("utf8Bytes", () => {
  it("gives the bytes TextEncoder gives, for any text", () => {
    fc.assert(
      fc.property(anyText, (text) => {
        expect([...utf8Bytes(text)]).toEqual([...encoder.encode(text)]);
      }),
      { numRuns: 1000 },
    );
  });

  it("replaces an unpaired surrogate with U+FFFD, as TextEncoder does", () => {
    expect([...utf8Bytes("a\ud800b")]).toEqual([0x61, 0xef, 0xbf, 0xbd, 0x62]);
  });

  it("is a plain Uint8Array whose slice is a copy, not a Buffer sharing the pool", () => {
    const bytes = utf8Bytes("shared pool");
    expect(Buffer.isBuffer(bytes)).toBe(false);
    const copy = bytes.slice();
    copy[0] = 0;
    expect(bytes[0]).toBe("s".charCodeAt(0));
  });
});

describe("installUtf8Encoding", () => {
  const response = (text: string, model: string, requestId: string) =>
    create(ChatResponseSchema, {
      message: { role: Role.ASSISTANT, content: [{ part: { case: "text", value: text } }] },
      usage: { inputTokens: 12n, outputTokens: 9n, provider: "openai", model, requestId, route: "default", attempts: [{ model }] },
    });

  it("makes protobuf-es encode with utf8Bytes, to the same bytes, and keeps its decoding", () => {
    const original = getTextEncoding();
    const viaTextEncoder = { ...original, encodeUtf8: (text: string) => encoder.encode(text) };
    try {
      configureTextEncoding(viaTextEncoder);
      const cases = fc.sample(fc.tuple(anyText, anyText, anyText), 100);
      const before = cases.map(([a, b, c]) => toBinary(ChatResponseSchema, response(a, b, c)));
      installUtf8Encoding();
      expect(getTextEncoding().encodeUtf8).toBe(utf8Bytes);
      expect(getTextEncoding().decodeUtf8).toBe(viaTextEncoder.decodeUtf8);
      expect(getTextEncoding().checkUtf8).toBe(viaTextEncoder.checkUtf8);
      cases.forEach(([a, b, c], i) => expect(toBinary(ChatResponseSchema, response(a, b, c))).toEqual(before[i]));
      // Idempotent: a second call changes nothing.
      const installed = getTextEncoding();
      installUtf8Encoding();
      expect(getTextEncoding()).toBe(installed);
    } finally {
      configureTextEncoding(original);
    }
  });
});
