import { afterEach, describe, expect, it } from "vitest";
import { createLogCapture } from "../../test/support/log-capture.js";
import { startRecordingServer, type RecordingServer } from "../../test/support/recording-server.js";
import { postAlertWebhook } from "./budget-alert-webhook.js";

// Basic-auth credentials in a webhook URL (`https://user:pass@host/…`) are what curl and most
// HTTP clients turn into an `Authorization: Basic` header; Node's fetch refuses such a URL
// outright, so without that translation an alert to it could never be delivered.
describe("budget alert webhook with credentials in its URL", () => {
  let server: RecordingServer | undefined;
  afterEach(async () => server?.close());

  it("delivers with an Authorization: Basic header, the URL sent without them", async () => {
    server = await startRecordingServer({ status: 204 });
    const log = createLogCapture();
    // Percent-encoded `@` and `:` in the password: decoded before encoding, as curl does.
    const url = `${server.origin.replace("http://", "http://alerts:HOOK%40PW%3A1@")}/budget?token=QUERYTOKEN456`;
    await postAlertWebhook(url, { id: "alert_1" }, { logger: log.logger }, { webhookAttempts: 1, webhookTimeoutMs: 2000 });
    expect(server.requests).toHaveLength(1);
    const [req] = server.requests;
    expect(req!.headers.authorization).toBe(`Basic ${Buffer.from("alerts:HOOK@PW:1").toString("base64")}`);
    expect(req!.path).toBe("/budget?token=QUERYTOKEN456");
    expect(req!.headers["x-switchboard-event-id"]).toBe("alert_1");
    expect(log.text()).not.toContain("delivery failed");
    expect(log.text()).not.toContain("HOOK");
  });
});
