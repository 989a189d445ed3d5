import { afterEach, describe, expect, it } from "vitest";
import { fakeDns } from "../../test/support/fake-dns.js";
import { startRecordingServer, type RecordingServer } from "../../test/support/recording-server.js";
import { createEgress } from "../http/egress-connect.js";
import { createEgressPolicy, type EgressPolicyOptions } from "../http/egress-policy.js";
import { createExternalChecker, type ExternalCheckRequest } from "./external-rule.js";

// An org's guardrail policy names the external service's URL: the gateway must not send its
// users' text to the cloud metadata service or, when the operator says so, into its private
// network, whatever the URL's host name resolves to when the rule runs.
describe("external guardrail egress", () => {
  const servers: RecordingServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  const checkerOf = (opts: EgressPolicyOptions = {}) => {
    const errors: string[] = [];
    const checker = createExternalChecker({
      egress: createEgress(createEgressPolicy(opts), { resolve: fakeDns({ "guard.test": ["169.254.169.254"] }) }),
      onError: (_url, err) => errors.push(err instanceof Error ? err.message : String(err)),
    });
    return { checker, errors };
  };
  const request = (url: string): ExternalCheckRequest => ({ url, timeoutMs: 2000, failOpen: false, policy: "p", rule: "r", stage: "input", contents: [{ field: "m", text: "hi" }], orgId: "o", route: "r", requestId: "q" });

  it("does not call a service whose host name resolves to the metadata address: the rule fails closed, the refusal reported", async () => {
    const { checker, errors } = checkerOf();
    expect(await checker.check(request("http://guard.test:8080"))).toEqual({ decision: "unavailable", field: "m" });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/egress refused: guard\.test \(169\.254\.169\.254\) is a link-local or cloud metadata address/);
  });

  it("with private=deny, makes no connection to a loopback service, named or literal; allowed by name, it is called", async () => {
    const service = await startRecordingServer({ status: 500 });
    servers.push(service);
    const port = new URL(service.origin).port;
    const { checker, errors } = checkerOf({ private: "deny" });
    for (const url of [`http://localhost:${port}`, service.origin]) expect((await checker.check(request(url))).decision).toBe("unavailable");
    expect(errors.every((e) => e.includes("SWITCHBOARD_EGRESS_PRIVATE is deny"))).toBe(true);
    expect(service.connections()).toBe(0);
    await checkerOf({ private: "deny", allow: ["localhost"] }).checker.check(request(`http://localhost:${port}`));
    expect(service.requests).toHaveLength(1);
  });

  it("does not follow a redirect to another address", async () => {
    const target = await startRecordingServer({ status: 200 });
    const redirector = await startRecordingServer({ status: 307, headers: { location: `${target.origin}/switchboard.ext.v1.GuardrailCheckService/Check` } });
    servers.push(target, redirector);
    const { checker } = checkerOf();
    expect((await checker.check(request(redirector.origin))).decision).toBe("unavailable");
    expect(redirector.requests).toHaveLength(1);
    expect(target.connections()).toBe(0);
  });
});
