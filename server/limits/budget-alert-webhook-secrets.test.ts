import { describe, expect, it } from "vitest";
import { createLogCapture } from "../../test/support/log-capture.js";
import { postAlertWebhook } from "./budget-alert-webhook.js";

// README: SWITCHBOARD_BUDGET_ALERT_WEBHOOK_URL "Never echoed (it may carry a token)"; P18: no
// secret reaches a log. A webhook URL with userinfo makes Node's fetch throw a TypeError whose
// message quotes the whole URL, password included — and that message is logged as `error`.
describe("budget alert webhook", () => {
  it("never logs the credentials of a webhook URL with userinfo", async () => {
    const log = createLogCapture();
    const url = "http://alerts:HOOKPASSWORD123@127.0.0.1:9/budget?token=QUERYTOKEN456";
    await postAlertWebhook(url, { id: "alert_1" }, { logger: log.logger }, { webhookAttempts: 1, webhookTimeoutMs: 500 });
    const text = log.text();
    expect(text).toContain("budget alert webhook delivery failed");
    expect(text).not.toContain("HOOKPASSWORD123");
    expect(text).not.toContain("QUERYTOKEN456");
  });
});
