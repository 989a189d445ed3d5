/**
 * P22: the request log's `redacted` mode with `requestLog.maxBodyBytes` raised above its 64 KiB
 * default (the config allows up to 16 MiB). The observe stage's capture of an answer is cut
 * before the sink redacts it, so it must never be shorter than the sink's limit: a personal value
 * straddling a shorter cut would no longer be recognised and its first part stored as written.
 */
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CapabilityService } from "../../gen/ts/switchboard/v1/capability_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { startOpenAIFake } from "../fakes/openai-fake.js";
import type { FakeProvider } from "../fakes/fake-types.js";
import { clientsFor } from "../support/clients.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";

let gw: TestGateway;
let openai: FakeProvider;
let verbs: Client<typeof CapabilityService>;

beforeAll(async () => {
  openai = await startOpenAIFake();
  gw = await startTestGateway({
    baseUrls: { openai: `${openai.url}/v1` },
    credentials: new Map([["credentials/openai", "sk-test"]]),
    requestLog: { mode: "redacted", maxBodyBytes: 1024 * 1024 },
  });
  await clientsFor(gw.url, gw.adminKey).routes.createRoute({ routeId: "long", route: { targets: [{ provider: "openai", model: "gpt-4o-mini", credential: "credentials/openai" }], retry: { maxAttempts: 1 } } });
  await gw.models.resolver.refresh();
  verbs = createClient(CapabilityService, createGrpcTransport({ baseUrl: gw.url }));
});
afterAll(async () => {
  await gw?.close();
  await openai?.close();
});

describe("request log, redacted mode, a long answer", () => {
  it("stores no part of a personal value that straddles the 64 Ki-character capture", async () => {
    const email = "jane.doe@example.com";
    // The email starts 10 characters before the 64 Ki-character capture limit.
    const text = `${"a ".repeat((64 * 1024 - 10) / 2)}${email} is the contact.`;
    openai.reset();
    openai.script({ reply: { text } });
    const res = await verbs.chat(
      { options: { route: "long" }, messages: [{ role: Role.USER, content: [{ part: { case: "text", value: "hi" } }] }] },
      { headers: { ...gw.adminHeaders, "x-request-id": "rl-long" } },
    );
    expect(res.message?.content.length).toBeGreaterThan(0);
    await gw.requestLog!.flush();
    const rows = await gw.database.db.selectFrom("request_log").selectAll().where("request_id", "=", "rl-long").execute();
    expect(rows).toHaveLength(1);
    const stored = JSON.stringify(rows[0]!.response);
    expect(stored).toContain("a a a");
    expect(stored).not.toContain("jane.doe");
  });
});
