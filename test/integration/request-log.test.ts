/**
 * The request log through the gateway, per route mode: `default` keeps metadata, `smart` keeps
 * redacted bodies, `fast` keeps full bodies (secrets still masked), `flaky` keeps nothing; both
 * front doors (verbs and the OpenAI surface) and streams are logged.
 */
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CapabilityService } from "../../gen/ts/switchboard/v1/capability_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";

const SECRET = "sk-CANARYrequestlog0123456789abcdefgh";
const TEXT = `Reach me at jane.doe@example.com or card 4111 1111 1111 1111; my key is ${SECRET}.`;

let gw: TestGateway;
let verbs: Client<typeof CapabilityService>;

beforeAll(async () => {
  gw = await startTestGateway({ requestLog: { mode: "metadata", routes: { smart: "redacted", fast: "full", flaky: "off" } } });
  verbs = createClient(CapabilityService, createGrpcTransport({ baseUrl: gw.url }));
});
afterAll(async () => {
  await gw?.close();
});

const chat = (route: string) => ({ options: { route }, messages: [{ role: Role.USER, content: [{ part: { case: "text" as const, value: TEXT } }] }] });
const rowsOf = async (requestId: string) => {
  await gw.requestLog!.flush();
  return gw.database.db.selectFrom("request_log").selectAll().where("request_id", "=", requestId).execute();
};

describe("request log", () => {
  it("keeps metadata only by default: ids, codes, tokens, no bodies", async () => {
    await verbs.chat(chat("default"), { headers: { ...gw.adminHeaders, "x-request-id": "rl-metadata" } });
    const rows = await rowsOf("rl-metadata");
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ mode: "metadata", verb: "chat", route: "default", provider: "sandbox", code: "ok", stream: false, attempts: 1, request: null, response: null });
    expect(rows[0]!.org_id).toBeTruthy();
    expect(rows[0]!.input_tokens).toBeGreaterThan(0);
  });

  it("keeps redacted bodies on a route so configured: personal data and secrets replaced", async () => {
    await verbs.chat(chat("smart"), { headers: { ...gw.adminHeaders, "x-request-id": "rl-redacted" } });
    const [row] = await rowsOf("rl-redacted");
    expect(row).toMatchObject({ mode: "redacted", route: "smart" });
    const stored = JSON.stringify([row!.request, row!.response]);
    expect(stored).toContain("[EMAIL]");
    expect(stored).toContain("[CREDIT_CARD]");
    for (const leaked of ["jane.doe@example.com", "4111 1111 1111 1111", SECRET]) expect(stored).not.toContain(leaked);
    expect((row!.response as { text: string }).text.length).toBeGreaterThan(0);
  });

  it("keeps full bodies, still without secrets, and logs streams with their time to first token", async () => {
    let n = 0;
    for await (const _ of verbs.chatStream(chat("fast"), { headers: { ...gw.adminHeaders, "x-request-id": "rl-full" } })) n++;
    expect(n).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 50)); // the stream's observation is reported once its result settles
    const [row] = await rowsOf("rl-full");
    expect(row).toMatchObject({ mode: "full", route: "fast", stream: true, code: "ok" });
    expect(row!.ttft_ms).not.toBeNull();
    const stored = JSON.stringify([row!.request, row!.response]);
    expect(stored).toContain("jane.doe@example.com");
    expect(stored).not.toContain(SECRET);
  });

  it("keeps nothing for a route whose mode is off", async () => {
    await verbs.chat(chat("flaky"), { headers: { ...gw.adminHeaders, "x-request-id": "rl-off" } }).catch(() => undefined);
    expect(await rowsOf("rl-off")).toHaveLength(0);
  });

  it("logs the OpenAI-compatible surface's calls too", async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { ...gw.adminHeaders, "content-type": "application/json", "x-request-id": "rl-openai" },
      body: JSON.stringify({ model: "default", messages: [{ role: "user", content: "hello" }] }),
    });
    expect(res.status).toBe(200);
    await gw.requestLog!.flush();
    const rows = await gw.database.db.selectFrom("request_log").selectAll().where("route", "=", "default").execute();
    expect(rows.length).toBeGreaterThanOrEqual(2);
  });
});
