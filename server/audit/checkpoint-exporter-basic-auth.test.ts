import { afterEach, describe, expect, it } from "vitest";
import { createLogCapture } from "../../test/support/log-capture.js";
import { startRecordingServer, type RecordingServer } from "../../test/support/recording-server.js";
import { createCheckpointExporter } from "./checkpoint-exporter.js";

// A checkpoint webhook behind Basic auth is configured as `https://user:pass@host/…`, which Node's
// fetch refuses: the credentials must travel as an `Authorization: Basic` header instead.
describe("audit checkpoint webhook with credentials in its URL", () => {
  let server: RecordingServer | undefined;
  afterEach(async () => server?.close());

  it("posts the checkpoint with an Authorization: Basic header, the URL sent without them", async () => {
    server = await startRecordingServer();
    const log = createLogCapture();
    const exporter = createCheckpointExporter(
      { store: { head: async () => ({ sequence: 1n, hash: "ab".repeat(32) }) }, logger: log.logger },
      { intervalMs: 0, webhookUrl: `${server.origin.replace("http://", "http://audit:CHECKPOINTPW789@")}/hook`, webhookTimeoutMs: 2000 },
    );
    await exporter.exportNow();
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]!.headers.authorization).toBe(`Basic ${Buffer.from("audit:CHECKPOINTPW789").toString("base64")}`);
    expect(server.requests[0]!.path).toBe("/hook");
    expect(JSON.parse(server.requests[0]!.body.toString("utf8"))).toMatchObject({ sequence: "1" });
    expect(log.text()).not.toContain("the webhook could not be reached");
    expect(log.text()).not.toContain("CHECKPOINTPW789");
  });
});
