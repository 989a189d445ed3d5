/**
 * The audit trail of access refusals on both front doors: a missing, unknown, malformed or
 * revoked key and a permission denial (no SCOPE_INVOKE, a route the key may not use) on `/v1/*`
 * and on the Connect verbs each append one audit event of the same shape — no actor and only the
 * presented key's display prefix when unauthenticated, the key as actor and the refused route
 * when denied, the caller's request id and address — readable with `ListAuditEvents`. A
 * guardrail's content-policy refusal (also `PermissionDenied`) is not an access decision and is
 * audited on neither door.
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditOutcome, type AuditEvent } from "../../gen/ts/switchboard/v1/audit_service_pb.js";
import { GuardrailStage, GuardrailViolationSchema } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { GuardrailAction, GuardrailRuleSchema, GuardrailService } from "../../gen/ts/switchboard/v1/guardrail_service_pb.js";
import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import { generateSecret, parseSecret } from "../../server/auth/key-format.js";
import { clientsFor, outcome, type KeyedClients } from "../support/clients.js";
import { chatMessage } from "../support/money.js";
import type { TestGateway } from "../support/gateway.js";
import { startPostgresGateway } from "../support/postgres-gateway.js";

let gw: TestGateway;
let platform: KeyedClients;
const CHAT = "POST /v1/chat/completions";

beforeAll(async () => {
  gw = await startPostgresGateway();
  platform = clientsFor(gw.url, gw.adminKey);
  await platform.tenants.createOrg({ orgId: "acme", org: {} });
  await platform.tenants.createTeam({ parent: "orgs/acme", teamId: "app", team: {} });
});
afterAll(async () => {
  await gw?.close();
});

/** POSTs a chat completion with `secret` (none: no authorization header) and resolves the status. */
async function chat(secret: string | undefined, requestId: string, model = "fast"): Promise<number> {
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-request-id": requestId, ...(secret === undefined ? {} : { authorization: `Bearer ${secret}` }) },
    body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] }),
  });
  await res.body?.cancel();
  return res.status;
}
/** The audit event of request `requestId`, once written (refusals are appended in the background). */
async function eventOf(requestId: string): Promise<AuditEvent | undefined> {
  await gw.server.audit.drain();
  const page = await platform.audit.listAuditEvents({ outcome: AuditOutcome.DENIED, pageSize: 1000 });
  return page.events.find((e) => e.requestId === requestId);
}
async function appKey(keyId: string, init: { scopes: Scope[]; allowedRoutes?: string[] }): Promise<{ secret: string; name: string }> {
  const created = await platform.keys.createKey({ parent: "orgs/acme/teams/app", keyId, key: init });
  return { secret: created.secret, name: created.key!.name };
}

describe("access refusals on the OpenAI surface are audited", () => {
  it("an unknown key on /v1/chat/completions shows up in ListAuditEvents, shaped like the Connect surface's event", async () => {
    const stranger = generateSecret();
    expect(await chat(stranger, "oai-unknown-key")).toBe(401);
    const event = await eventOf("oai-unknown-key");
    expect(event).toMatchObject({
      action: CHAT,
      actor: "",
      actorOrg: "",
      outcome: AuditOutcome.DENIED,
      after: { presentedKey: parseSecret(stranger)!.displayPrefix },
      peer: expect.stringMatching(/^(::ffff:)?127\.0\.0\.1$|^::1$/),
    });
    expect(JSON.stringify(event?.after)).not.toContain(stranger.slice(12));
    const stored = (await gw.server.audit.store.list({ action: CHAT }, { limit: 100 })).find((e) => e.requestId === "oai-unknown-key");
    expect(stored?.code).toBe("unauthenticated");

    // The same key on the Connect surface: the same event but for the action.
    expect(await outcome(clientsFor(gw.url, stranger).capability.chat({ messages: [] }, { headers: { "x-request-id": "connect-unknown-key" } }))).toBe("Unauthenticated");
    const connect = await eventOf("connect-unknown-key");
    const shape = (e: AuditEvent | undefined) => ({ actor: e?.actor, actorOrg: e?.actorOrg, outcome: e?.outcome, after: e?.after, resource: e?.resource, peer: e?.peer });
    expect(connect?.action).toBe("switchboard.v1.CapabilityService/Chat");
    expect(shape(connect)).toEqual(shape(event));
  });

  it("records a missing key, a malformed one and a revoked one", async () => {
    expect(await chat(undefined, "oai-no-key")).toBe(401);
    expect(await chat("sk-not-a-switchboard-key", "oai-malformed")).toBe(401);
    const revoked = await appKey("revoked", { scopes: [Scope.INVOKE] });
    await platform.keys.revokeKey({ name: revoked.name });
    expect(await chat(revoked.secret, "oai-revoked")).toBe(401);

    expect(await eventOf("oai-no-key")).toMatchObject({ action: CHAT, actor: "", outcome: AuditOutcome.DENIED });
    expect((await eventOf("oai-no-key"))?.after).toBeUndefined();
    expect((await eventOf("oai-malformed"))?.after).toBeUndefined();
    expect(await eventOf("oai-revoked")).toMatchObject({ actor: "", after: { presentedKey: parseSecret(revoked.secret)!.displayPrefix, matchedKey: true } });
  });

  it("a flood of unknown keys from one address is summarised, but a revoked key tried behind it is still recorded, on both doors", async () => {
    const revoked = await appKey("revoked-behind-flood", { scopes: [Scope.INVOKE] });
    await platform.keys.revokeKey({ name: revoked.name });
    // More unknown keys than an address is recorded one by one a minute (10)...
    for (let i = 0; i < 12; i++) expect(await chat(generateSecret(), `flood-${i}`)).toBe(401);
    // ...then the revoked key, on the OpenAI surface and over Connect.
    expect(await chat(revoked.secret, "flood-revoked")).toBe(401);
    expect(await outcome(clientsFor(gw.url, revoked.secret).capability.chat({ messages: [] }, { headers: { "x-request-id": "flood-revoked-connect" } }))).toBe("Unauthenticated");
    expect(await eventOf("flood-11")).toBeUndefined();
    const prefix = parseSecret(revoked.secret)!.displayPrefix;
    expect(await eventOf("flood-revoked")).toMatchObject({ action: CHAT, actor: "", after: { presentedKey: prefix, matchedKey: true } });
    expect(await eventOf("flood-revoked-connect")).toMatchObject({ actor: "", after: { presentedKey: prefix, matchedKey: true } });
  });

  it("records permission denials with the key as actor: no SCOPE_INVOKE, and a route the key may not use", async () => {
    const reader = await appKey("reader", { scopes: [Scope.KEYS_READ] });
    expect(await chat(reader.secret, "oai-no-scope")).toBe(403);
    const fenced = await appKey("fenced", { scopes: [Scope.INVOKE], allowedRoutes: ["fast"] });
    expect(await chat(fenced.secret, "oai-route", "smart")).toBe(403);

    expect(await eventOf("oai-no-scope")).toMatchObject({ action: CHAT, actor: reader.name, actorOrg: "orgs/acme", outcome: AuditOutcome.DENIED });
    expect(await eventOf("oai-route")).toMatchObject({ action: CHAT, actor: fenced.name, outcome: AuditOutcome.DENIED, after: { request: { route: "smart" } } });
    // The org's own admins see them (made by its keys).
    const mine = await platform.audit.listAuditEvents({ parent: "orgs/acme", action: CHAT });
    expect(mine.events.map((e) => e.requestId)).toEqual(expect.arrayContaining(["oai-no-scope", "oai-route"]));
    // An allowed call is not an audit event.
    expect(await chat(fenced.secret, "oai-allowed", "fast")).toBe(200);
    expect(await eventOf("oai-allowed")).toBeUndefined();
  });

  it("a `model` that cannot be a route alias is not found, not audited, and not quoted whole", async () => {
    const fenced = await appKey("fenced-long", { scopes: [Scope.INVOKE], allowedRoutes: ["fast"] });
    for (const [requestId, model] of [
      ["oai-huge-model", "a".repeat(1024 * 1024)],
      ["oai-upper-model", "Fast"],
    ] as const) {
      const res = await fetch(`${gw.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-request-id": requestId, authorization: `Bearer ${fenced.secret}` },
        body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] }),
      });
      expect(res.status).toBe(404);
      const body = (await res.json()) as { error: { code: string; param: string; message: string } };
      expect(body.error).toMatchObject({ code: "model_not_found", param: "model" });
      expect(body.error.message.length).toBeLessThan(512);
      expect(await eventOf(requestId)).toBeUndefined();
    }
  });
});

describe("access refusals on the Connect verbs are audited like the OpenAI surface's (#6 parity)", () => {
  const CONNECT_CHAT = "switchboard.v1.CapabilityService/Chat";
  /** Calls Connect Chat with `secret` on `route`; resolves the code name. */
  const connectChat = (secret: string, requestId: string, route: string, text = "hi") =>
    outcome(clientsFor(gw.url, secret).capability.chat({ options: { route }, messages: chatMessage(text) }, { headers: { "x-request-id": requestId } }));
  /** What must match between the two doors' events: all but the action and the request id. */
  const shape = (e: AuditEvent | undefined) => ({ actor: e?.actor, actorOrg: e?.actorOrg, outcome: e?.outcome, after: e?.after, before: e?.before, resource: e?.resource, peer: e?.peer });
  /** Every stored audit event of `requestId`, whatever its outcome. */
  const anyEventsOf = async (requestId: string) => {
    await gw.server.audit.drain();
    return (await gw.server.audit.store.list({}, { limit: 1000 })).filter((e) => e.requestId === requestId);
  };

  it("a key without SCOPE_INVOKE: the same denied event from Connect Chat as from /v1/chat/completions", async () => {
    const reader = await appKey("reader-both", { scopes: [Scope.KEYS_READ] });
    expect(await connectChat(reader.secret, "connect-no-scope", "fast")).toBe("PermissionDenied");
    expect(await chat(reader.secret, "oai-no-scope-2")).toBe(403);
    const connect = await eventOf("connect-no-scope");
    expect(connect).toMatchObject({ action: CONNECT_CHAT, actor: reader.name, actorOrg: "orgs/acme", outcome: AuditOutcome.DENIED });
    expect(connect?.after).toBeUndefined();
    expect(shape(connect)).toEqual(shape(await eventOf("oai-no-scope-2")));
    const stored = (await anyEventsOf("connect-no-scope"))[0];
    expect(stored?.code).toBe("permission_denied");
  });

  it("a route the key may not use: the same denied event, naming the route, from Chat, ChatStream and /v1/chat/completions", async () => {
    const fenced = await appKey("fenced-both", { scopes: [Scope.INVOKE], allowedRoutes: ["fast"] });
    expect(await connectChat(fenced.secret, "connect-route", "smart", "keep this text out of the audit log")).toBe("PermissionDenied");
    expect(await chat(fenced.secret, "oai-route-2", "smart")).toBe(403);
    const connect = await eventOf("connect-route");
    expect(connect).toMatchObject({ action: CONNECT_CHAT, actor: fenced.name, outcome: AuditOutcome.DENIED, after: { request: { route: "smart" } } });
    // Only what was refused is kept, never the request's content.
    expect(JSON.stringify(connect?.after)).not.toContain("audit log");
    expect(shape(connect)).toEqual(shape(await eventOf("oai-route-2")));

    // The streaming verb refuses inside its stream: audited the same way.
    const stream = clientsFor(gw.url, fenced.secret).capability.chatStream({ options: { route: "smart" }, messages: chatMessage("hi") }, { headers: { "x-request-id": "connect-stream-route" } });
    const streamed = await (async () => {
      for await (const _ of stream) return "ok";
      return "ok";
    })().catch((err: unknown) => Code[ConnectError.from(err).code]);
    expect(streamed).toBe("PermissionDenied");
    const fromStream = await eventOf("connect-stream-route");
    expect(fromStream?.action).toBe("switchboard.v1.CapabilityService/ChatStream");
    expect(shape(fromStream)).toEqual(shape(connect));

    // An allowed call on either door is not an audit event.
    expect(await connectChat(fenced.secret, "connect-allowed", "fast")).toBe("ok");
    expect(await anyEventsOf("connect-allowed")).toEqual([]);
  });

  it("a guardrail block (PermissionDenied with GuardrailViolation) is audited on neither door", async () => {
    const guarded = await appKey("guarded", { scopes: [Scope.INVOKE] });
    const transport = createGrpcTransport({
      baseUrl: gw.url,
      interceptors: [
        (next) => (req) => {
          req.header.set("authorization", `Bearer ${gw.adminKey}`);
          return next(req);
        },
      ],
    });
    await createClient(GuardrailService, transport).createGuardrailPolicy({
      parent: "orgs/acme",
      policyId: "no-banana",
      policy: {
        enabled: true,
        attachments: [guarded.name],
        rules: [create(GuardrailRuleSchema, { id: "deny", stage: GuardrailStage.INPUT, action: GuardrailAction.BLOCK, check: { case: "denyList", value: { phrases: ["blue banana"] } } })],
      },
    });
    const refusal = await clientsFor(gw.url, guarded.secret)
      .capability.chat({ options: { route: "fast" }, messages: chatMessage("a blue banana please") }, { headers: { "x-request-id": "connect-guardrail" } })
      .then(() => undefined, (err: unknown) => ConnectError.from(err));
    expect(refusal?.code).toBe(Code.PermissionDenied);
    expect(refusal?.findDetails(GuardrailViolationSchema)[0]?.rule).toBe("deny");
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": "oai-guardrail", authorization: `Bearer ${guarded.secret}` },
      body: JSON.stringify({ model: "fast", messages: [{ role: "user", content: "a blue banana please" }] }),
    });
    await res.body?.cancel();
    expect(res.status).toBe(403);
    expect(await anyEventsOf("connect-guardrail")).toEqual([]);
    expect(await anyEventsOf("oai-guardrail")).toEqual([]);
  });
});
