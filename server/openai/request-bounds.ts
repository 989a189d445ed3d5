import { invalidField } from "./openai-request-error.js";

/**
 * What one OpenAI-surface request may carry: the bounds the schema's protovalidate rules set on
 * the same content over Connect and gRPC (`chat.proto`, `capability_service.proto`), so a call
 * one door accepts the other does not refuse, and no field reaches a provider, the logs or memory
 * larger than a Chat or Embed call could send it. `request-bounds.test.ts` pins each to its rule.
 * Lengths in characters are Unicode code points (protovalidate's `max_len`); in bytes, UTF-8
 * (`max_bytes`).
 */
export const BOUNDS = {
  /** `ChatRequest.messages`. */
  messages: 2048,
  /** `Message.content`. */
  contentParts: 256,
  /** `ContentPart.text`, bytes. */
  textBytes: 4 * 1024 * 1024,
  /** `Image.url`, characters; and its pattern. */
  imageUrl: 8 * 1024 * 1024,
  /** `Message.name`. */
  messageName: 64,
  /** `Message.tool_calls`. */
  toolCalls: 128,
  /** `ToolCall.id`, `Message.tool_call_id`. */
  toolCallId: 256,
  /** `ToolCall.name`, `Tool.name`, `ToolChoice.tool_name`, `ResponseFormat.schema_name`. */
  name: 64,
  /** `ToolCall.arguments_json`, bytes. */
  argumentsBytes: 1024 * 1024,
  /** `ChatRequest.tools`. */
  tools: 128,
  /** `Tool.description`. */
  toolDescription: 4096,
  /** `ChatRequest.stop` items. */
  stopLength: 256,
  /** `EmbedRequest.inputs` items, bytes. */
  embedInputBytes: 256 * 1024,
  /** `logit_bias` entries (OpenAI surface only; the gateway's own bound, no schema field). */
  logitBias: 1024,
} as const;

/** `Image.url`'s pattern: an https or an image `data:` URL (the gateway fetches none; a provider may). */
export const IMAGE_URL = /^(https:\/\/|data:image\/)/;
/** `Tool.name`'s and `ResponseFormat.schema_name`'s pattern (OpenAI's own for both). */
export const TOOL_NAME = /^[a-zA-Z0-9_-]+$/;

/** The number of Unicode code points in `s` (what protovalidate's `max_len` counts). */
export function codePoints(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // A high surrogate followed by a low one is one code point; an unpaired one counts alone.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/** Whether `s` has at most `max` code points (without counting them when its length settles it). */
export function withinChars(s: string, max: number): boolean {
  if (s.length <= max) return true;
  if (s.length > 2 * max) return false;
  return codePoints(s) <= max;
}

/** Throws a 400 naming `param` unless `s` has at most `max` code points. */
export function checkChars(s: string, max: number, param: string): string {
  if (!withinChars(s, max)) throw invalidField(param, `'${param}' must be at most ${max} characters`);
  return s;
}

/** Throws a 400 naming `param` unless `s` is at most `max` bytes of UTF-8. */
export function checkBytes(s: string, max: number, param: string): string {
  // A UTF-16 unit is at most 3 bytes of UTF-8, so a short string needs no encoding to settle it.
  if (s.length * 3 > max && Buffer.byteLength(s, "utf8") > max) throw invalidField(param, `'${param}' must be at most ${max} bytes (UTF-8)`);
  return s;
}

/** Throws a 400 naming `param` unless `list` has at most `max` items. */
export function checkCount<T>(list: readonly T[], max: number, param: string): readonly T[] {
  if (list.length > max) throw invalidField(param, `'${param}' may hold at most ${max} items`);
  return list;
}
