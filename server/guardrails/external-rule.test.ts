import { describe, expect, it } from "vitest";
import { createExternalChecker } from "./external-rule.js";

describe("external guardrail clients", () => {
  it("keeps at most maxClients, letting the least recently used go (P24: a rotating ?token= is a new URL each time)", async () => {
    const checker = createExternalChecker({ maxClients: 3 });
    // Nothing listens on port 9: each check fails at once (fail open), having made its client.
    const check = (token: string) =>
      checker.check({ url: `http://127.0.0.1:9/check?token=${token}`, timeoutMs: 500, failOpen: true, policy: "p", rule: "r", stage: "input", contents: [{ field: "m", text: "hi" }], orgId: "o", route: "r", requestId: "q" });
    for (let i = 0; i < 10; i++) expect((await check(`t${i}`)).decision).toBe("allow");
    expect(checker.clients()).toBe(3);
    await check("t9"); // kept
    expect(checker.clients()).toBe(3);
  });
});
