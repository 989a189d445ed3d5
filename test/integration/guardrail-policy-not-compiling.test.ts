/**
 * A stored guardrail policy this gateway cannot compile. Saving a policy compiles it first, so such
 * a row comes from an upgrade whose compiler is stricter than the one that saved it (or from a row
 * written past the service). The guardrail must not switch off: every call the policy governs,
 * unary or streamed, is refused with FailedPrecondition naming the policy (never its rules), the
 * replica logs it at error and counts it in `switchboard_guardrail_policies_broken`, and calls of
 * other orgs go on. On the OpenAI surface the refusal is the gateway's fault, not the request's:
 * 500 `server_error` with `x-should-retry: false` (a 400 would send the caller to fix a request
 * that is fine; a retry cannot fix an operator's configuration).
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, expect, it } from "vitest";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { GuardrailStage } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { GuardrailAction } from "../../gen/ts/switchboard/v1/guardrail_service_pb.js";
import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import { createGuardrailPolicyStore } from "../../server/store/guardrail-policy-store.js";
import { clientsFor, outcome, type KeyedClients } from "../support/clients.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";

let gw: TestGateway;
const callers: Record<string, KeyedClients> = {};
const secrets: Record<string, string> = {};

beforeAll(async () => {
  gw = await startTestGateway();
  const platform = clientsFor(gw.url, gw.adminKey);
  await platform.routes.createRoute({ routeId: "chat", route: { targets: [{ provider: "sandbox", model: "sandbox-fast" }] } });
  await gw.models.resolver.refresh();
  for (const org of ["acme", "other"]) {
    await platform.tenants.createOrg({ orgId: org, org: {} });
    await platform.tenants.createTeam({ parent: `orgs/${org}`, teamId: "app", team: {} });
    const key = await platform.keys.createKey({ parent: `orgs/${org}/teams/app`, keyId: "app", key: { scopes: [Scope.INVOKE] } });
    callers[org] = clientsFor(gw.url, key.secret);
    secrets[org] = key.secret;
    const rules = [{ id: "deny", stage: GuardrailStage.INPUT, action: GuardrailAction.BLOCK, check: { case: "denyList" as const, value: { phrases: ["project-nightingale"] } } }];
    await platform.guardrails.createGuardrailPolicy({ parent: `orgs/${org}`, policyId: "strict", policy: { enabled: true, attachments: [`orgs/${org}`], rules } });
  }
});
afterAll(async () => {
  await gw?.close();
});

const user = (text: string) => [{ role: Role.USER, content: [{ part: { case: "text" as const, value: text } }] }];
const refusal = (call: Promise<unknown>) =>
  call.then(
    () => "ok",
    (err: unknown) => {
      const e = ConnectError.from(err);
      return `${Code[e.code]}: ${e.rawMessage}`;
    },
  );
/** A chat completion on the OpenAI surface: its status, `x-should-retry` and error envelope. */
const openAIChat = async (org: string, stream: boolean) => {
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${secrets[org]!}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "chat", stream, messages: [{ role: "user", content: "hello" }] }),
  });
  const text = await res.text();
  return { status: res.status, shouldRetry: res.headers.get("x-should-retry"), error: res.ok ? undefined : (JSON.parse(text) as { error: { type: string; code: string; message: string } }).error };
};
const streamed = (c: KeyedClients) =>
  refusal(
    (async () => {
      for await (const _ of c.capability.chatStream({ options: { route: "chat" }, messages: user("hello") }));
    })(),
  );

it("refuses every call the policy governs, streamed too, logs and counts it; another org's calls go on", async () => {
  expect(await outcome(callers.acme!.capability.summarize({ text: "hello" }))).toBe("ok");
  // As an upgrade would leave it: the stored spec holds a lookaround this compiler refuses.
  const store = createGuardrailPolicyStore(gw.database.db);
  const row = (await store.loadEnabled()).find((r) => r.orgName === "acme")!;
  const spec = { rules: [{ id: "code", stage: "GUARDRAIL_STAGE_INPUT", action: "GUARDRAIL_ACTION_BLOCK", regex: { pattern: "nightingale(?=x)" } }] };
  await store.update(row.orgId, row.policyId, row.revision, { spec, attachments: row.attachments, enabled: true });

  // Every replica follows the store within its poll (1 s).
  const deadline = Date.now() + 10_000;
  let unary = await refusal(callers.acme!.capability.summarize({ text: "hello" }));
  while (unary === "ok" && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    unary = await refusal(callers.acme!.capability.summarize({ text: "hello" }));
  }
  expect(unary).toMatch(/^FailedPrecondition: .*orgs\/acme\/guardrail-policies\/strict/);
  expect(unary).not.toContain("nightingale");
  expect(await streamed(callers.acme!)).toBe(unary);
  expect(await refusal(callers.acme!.capability.chat({ options: { route: "chat" }, messages: user("hello") }))).toBe(unary);

  for (const stream of [false, true]) {
    const answer = await openAIChat("acme", stream);
    expect({ stream, status: answer.status, shouldRetry: answer.shouldRetry, type: answer.error?.type, code: answer.error?.code }).toEqual({
      stream,
      status: 500,
      shouldRetry: "false",
      type: "server_error",
      code: "guardrail_policy_broken",
    });
    expect(answer.error?.message).toContain("orgs/acme/guardrail-policies/strict");
    expect(answer.error?.message).not.toContain("nightingale");
  }

  expect(await outcome(callers.other!.capability.summarize({ text: "hello" }))).toBe("ok");
  expect((await openAIChat("other", false)).status).toBe(200);
  expect(await streamed(callers.other!)).toBe("ok");

  const logged = gw.log.lines().filter((l) => l.level === "error" && l.policy === "orgs/acme/guardrail-policies/strict");
  expect(logged.length).toBeGreaterThan(0);
  expect(JSON.stringify(logged)).not.toContain("nightingale");
  expect(await (await fetch(`${gw.url}/metrics`)).text()).toMatch(/^switchboard_guardrail_policies_broken 1$/m);
});
