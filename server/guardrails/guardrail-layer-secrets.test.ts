import type { Kysely } from "kysely";
import { describe, expect, it } from "vitest";
import { createLogCapture } from "../../test/support/log-capture.js";
import type { Database } from "../store/schema.js";
import { createGuardrailLayer } from "./guardrail-layer.js";

// P18: no credential reaches a log. An ExternalRule has no header field, so a team's guardrail
// service can only be authenticated by the URL itself (userinfo or a `?token=`); a failed check
// logs that URL verbatim. The budget alert webhook strips userinfo and query for the same reason.
describe("external guardrail failure log", () => {
  it("never logs the credentials or query of the service URL", async () => {
    const log = createLogCapture();
    const layer = createGuardrailLayer({ db: {} as Kysely<Database>, logger: log.logger });
    const verdict = await layer.external.check({
      url: "http://guard:GUARDPASSWORD@127.0.0.1:9/check?token=GUARDTOKEN123",
      timeoutMs: 500,
      failOpen: false,
      policy: "p",
      rule: "r",
      stage: "input",
      contents: [{ field: "messages[0]", text: "hello" }],
      orgId: "org_1",
      route: "chat",
      requestId: "req_1",
    });
    layer.resolver.close();
    expect(verdict.decision).toBe("unavailable");
    const text = log.text();
    expect(text).toContain("external guardrail failed");
    expect(text).not.toContain("GUARDPASSWORD");
    expect(text).not.toContain("GUARDTOKEN123");
  });
});
