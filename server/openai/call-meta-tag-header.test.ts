import { describe, expect, it } from "vitest";
import { tagsOf } from "./call-meta.js";
import { OpenAIRequestError } from "./openai-request-error.js";
import { testPrincipal } from "../../test/support/principal.js";

const principal = testPrincipal({ tags: {} });

function refusal(f: () => unknown): OpenAIRequestError {
  try {
    f();
  } catch (err) {
    if (err instanceof OpenAIRequestError) return err;
    throw err;
  }
  throw new Error("expected a refusal");
}

// README, OpenAI errors: `invalid_argument` → 400 whose "`param` names the field". A bad tag that
// came from the `x-switchboard-tags` header must name the header, not the body's `metadata` (which
// the caller did not even send).
describe("tags on the OpenAI surface: param names where the bad tag came from", () => {
  it("names x-switchboard-tags for a bad key, value or reserved key sent in the header", () => {
    expect(refusal(() => tagsOf(principal, undefined, "bad key=x")).param).toBe("x-switchboard-tags");
    expect(refusal(() => tagsOf(principal, undefined, `feature=${"v".repeat(257)}`)).param).toBe("x-switchboard-tags");
    expect(refusal(() => tagsOf(principal, undefined, "feature=a%00b")).param).toBe("x-switchboard-tags");
    expect(refusal(() => tagsOf(principal, undefined, "__proto__=x")).param).toBe("x-switchboard-tags");
    // The header overrides a body tag of the same name: the header's value is the one at fault.
    expect(refusal(() => tagsOf(principal, { feature: "ok" }, `feature=${"v".repeat(257)}`)).param).toBe("x-switchboard-tags");
  });

  it("still names metadata for a bad tag in the body", () => {
    expect(refusal(() => tagsOf(principal, { "bad key": "x" }, "feature=a")).param).toBe("metadata");
    expect(refusal(() => tagsOf(principal, { feature: "v".repeat(257) }, undefined)).param).toBe("metadata");
  });
});
