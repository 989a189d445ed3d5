import { describe, expect, it } from "vitest";
import { emptyUsage } from "../providers/model.js";
import { utf8Bytes } from "../runtime/utf8-encoding.js";
import { decodeEntry, encodeEntry, type CacheEntry } from "./cache-entry.js";

const chat: CacheEntry = {
  kind: "chat",
  response: { text: "Paris", toolCalls: [], finishReason: "stop", usage: { ...emptyUsage(), inputTokens: 9, outputTokens: 1 }, model: "gpt-x", providerRequestId: "req_upstream_1" },
  storedAt: 1_700_000_000_000,
  provider: "openai",
  model: "gpt-x",
  costMicrosUsd: 12_345_678_901_234_567n,
};

describe("cache entry encoding", () => {
  it("round-trips an entry, its cost exactly, without the provider's request id of the call that filled it", () => {
    const decoded = decodeEntry(encodeEntry(chat));
    const { providerRequestId: _dropped, ...response } = chat.response as typeof chat.response & { providerRequestId?: string };
    expect(decoded).toEqual({ ...chat, response });
    expect(decoded?.response).not.toHaveProperty("providerRequestId");
  });

  it("round-trips an embeddings entry", () => {
    const embed: CacheEntry = { kind: "embed", response: { vectors: [[0.5, -1]], usage: emptyUsage(), model: "e" }, storedAt: 1, provider: "openai", model: "e", costMicrosUsd: 0n };
    expect(decodeEntry(encodeEntry(embed))).toEqual(embed);
  });

  it("reads a value of another format or layout as no entry", () => {
    const raw = JSON.parse(new TextDecoder().decode(encodeEntry(chat))) as Record<string, unknown>;
    const bytes = (v: unknown) => utf8Bytes(JSON.stringify(v));
    expect(decodeEntry(bytes(raw))).toBeDefined();
    expect(decodeEntry(bytes({ ...raw, f: 2 }))).toBeUndefined();
    expect(decodeEntry(bytes({ ...raw, f: undefined }))).toBeUndefined();
    expect(decodeEntry(bytes({ ...raw, kind: "image" }))).toBeUndefined();
    expect(decodeEntry(bytes({ ...raw, costMicrosUsd: "1.5" }))).toBeUndefined();
    expect(decodeEntry(bytes({ ...raw, storedAt: "yesterday" }))).toBeUndefined();
    expect(decodeEntry(utf8Bytes("not json"))).toBeUndefined();
  });
});
