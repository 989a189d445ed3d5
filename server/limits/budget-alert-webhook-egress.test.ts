import { afterEach, describe, expect, it } from "vitest";
import { fakeDns } from "../../test/support/fake-dns.js";
import { createLogCapture } from "../../test/support/log-capture.js";
import { startRecordingServer, type RecordingServer } from "../../test/support/recording-server.js";
import { createEgress } from "../http/egress-connect.js";
import { createEgressPolicy, type EgressPolicyOptions } from "../http/egress-policy.js";
import { createWebhookPost, postAlertWebhook, type WebhookPost } from "./budget-alert-webhook.js";

// A budget's alert_webhook_url is an org admin's setting: the gateway must not POST to the cloud
// metadata service or, when the operator says so, into its private network (SSRF), whatever the
// URL's host name resolves to when the alert fires.
describe("budget alert webhook egress", () => {
  const servers: RecordingServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  const start = async (reply: Parameters<typeof startRecordingServer>[0]) => {
    const server = await startRecordingServer(reply);
    servers.push(server);
    return server;
  };
  /** The webhook client of `opts`' policy, counting its attempts. */
  const counted = (opts: EgressPolicyOptions = {}) => {
    const post = createWebhookPost(createEgress(createEgressPolicy(opts), { resolve: fakeDns({ "hooks.test": ["169.254.169.254"] }) }).dispatcher);
    const attempts = { n: 0 };
    const wrapped: WebhookPost = (...args) => {
      attempts.n++;
      return post(...args);
    };
    return { post: wrapped, attempts };
  };
  const retries = { webhookAttempts: 4, webhookRetryDelayMs: 10, webhookTimeoutMs: 2000 };

  it("does not call a webhook whose host name resolves to the metadata address, nor retry it, and logs why", async () => {
    const log = createLogCapture();
    const { post, attempts } = counted();
    await postAlertWebhook("http://hooks.test/latest/meta-data/?token=SECRET1", { id: "alert_1" }, { post, logger: log.logger }, retries);
    expect(attempts.n).toBe(1);
    const [line] = log.lines().filter((l) => l.msg === "budget alert webhook delivery failed");
    expect(line?.error).toMatch(/egress refused: hooks\.test \(169\.254\.169\.254\) is a link-local or cloud metadata address/);
    expect(log.text()).not.toContain("SECRET1");
  });

  it("with private=deny, makes no connection to a loopback receiver, named or literal", async () => {
    const receiver = await start({ status: 204 });
    const port = new URL(receiver.origin).port;
    const log = createLogCapture();
    const { post, attempts } = counted({ private: "deny" });
    for (const url of [`http://localhost:${port}/budget`, `${receiver.origin}/budget`]) await postAlertWebhook(url, { id: "alert_2" }, { post, logger: log.logger }, retries);
    expect(attempts.n).toBe(2);
    expect(receiver.connections()).toBe(0);
    // Listed in the allow list, the same receiver is called.
    await postAlertWebhook(`http://localhost:${port}/budget`, { id: "alert_3" }, { post: counted({ private: "deny", allow: ["localhost"] }).post, logger: log.logger }, retries);
    expect(receiver.requests.map((r) => r.headers["x-switchboard-event-id"])).toEqual(["alert_3"]);
  });

  it("does not follow a redirect: a 3xx is the attempt's status, its Location never called", async () => {
    const target = await start({ status: 204 });
    const redirector = await start({ status: 307, headers: { location: `${target.origin}/stolen` } });
    const log = createLogCapture();
    await postAlertWebhook(`${redirector.origin}/budget`, { id: "alert_4" }, { post: counted().post, logger: log.logger }, retries);
    expect(redirector.requests).toHaveLength(1);
    expect(target.connections()).toBe(0);
    expect(log.lines().find((l) => l.msg === "budget alert webhook delivery failed")?.error).toBe("HTTP 307");
  });
});
