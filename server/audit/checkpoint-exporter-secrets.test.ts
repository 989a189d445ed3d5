import { describe, expect, it } from "vitest";
import { createLogCapture } from "../../test/support/log-capture.js";
import { createCheckpointExporter } from "./checkpoint-exporter.js";

// README: SWITCHBOARD_AUDIT_CHECKPOINT_WEBHOOK_URL is "never echoed"; the exporter's own comment:
// "The URL may carry a token: only the error's name and message are logged". With userinfo in the
// URL, Node's fetch throws a TypeError whose message is the whole URL, password and query included.
describe("audit checkpoint exporter", () => {
  it("never logs the credentials of a webhook URL with userinfo", async () => {
    const log = createLogCapture();
    const exporter = createCheckpointExporter(
      { store: { head: async () => ({ sequence: 1n, hash: "ab".repeat(32) }) }, logger: log.logger },
      { intervalMs: 0, webhookUrl: "https://audit:CHECKPOINTPW789@127.0.0.1:9/hook?token=QUERYTOKEN456", webhookTimeoutMs: 500 },
    );
    await exporter.exportNow();
    const text = log.text();
    expect(text).toContain("the webhook could not be reached");
    expect(text).not.toContain("CHECKPOINTPW789");
    expect(text).not.toContain("QUERYTOKEN456");
  });
});
