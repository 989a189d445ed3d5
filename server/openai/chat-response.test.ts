import { describe, expect, it } from "vitest";
import { newCompletionId } from "./chat-response.js";

describe("newCompletionId", () => {
  it("is chatcmpl- and 24 hex digits, distinct across refills of the random pool", () => {
    const ids = Array.from({ length: 1_000 }, () => newCompletionId()); // ≈ 4 pools of 256
    for (const id of ids) expect(id).toMatch(/^chatcmpl-[0-9a-f]{24}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
