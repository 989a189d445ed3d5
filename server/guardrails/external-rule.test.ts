import { toBinary, create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { CheckDecision, CheckResponseSchema } from "../../gen/ts/switchboard/ext/v1/guardrail_check_pb.js";
import { startRecordingServer } from "../../test/support/recording-server.js";
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

  it("authenticates to a service URL with userinfo by an Authorization: Basic header (the rule has no header field)", async () => {
    const server = await startRecordingServer({
      headers: { "content-type": "application/proto" },
      body: toBinary(CheckResponseSchema, create(CheckResponseSchema, { decision: CheckDecision.BLOCK, category: "x" })),
    });
    try {
      const url = server.origin.replace("http://", "http://guard:GUARD%40PW@");
      const verdict = await createExternalChecker().check({ url, timeoutMs: 2000, failOpen: true, policy: "p", rule: "r", stage: "input", contents: [{ field: "m", text: "hi" }], orgId: "o", route: "r", requestId: "q" });
      expect(verdict.decision).toBe("block");
      expect(server.requests[0]!.headers.authorization).toBe(`Basic ${Buffer.from("guard:GUARD@PW").toString("base64")}`);
    } finally {
      await server.close();
    }
  });

  it("treats an answer with no decision as a failure: unavailable when the rule fails closed, allow when it fails open", async () => {
    const server = await startRecordingServer({
      headers: { "content-type": "application/proto" },
      body: toBinary(CheckResponseSchema, create(CheckResponseSchema, { decision: CheckDecision.UNSPECIFIED })),
    });
    try {
      const failures: string[] = [];
      const checker = createExternalChecker({ onError: (url) => failures.push(url) });
      const check = (failOpen: boolean) =>
        checker.check({ url: server.origin, timeoutMs: 2000, failOpen, policy: "p", rule: "r", stage: "input", contents: [{ field: "m", text: "hi" }], orgId: "o", route: "r", requestId: "q" });
      expect(await check(false)).toEqual({ decision: "unavailable", field: "m" });
      expect(await check(true)).toEqual({ decision: "allow" });
      expect(failures).toHaveLength(2);
    } finally {
      await server.close();
    }
  });
});
