/**
 * The response cache and output guardrails (P17, P22). The output guardrail stage sits inside the
 * cache stage, and the cache key holds the tenant but not the caller's key nor the guardrail
 * policies in force, so a hit passes the output guardrails of the caller who asks: an answer
 * stored for a caller no output policy covers is blocked or redacted for one whose policy says
 * so — and for every caller once an output policy is added.
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TruncationReason } from "../../gen/ts/switchboard/v1/capability_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { CacheStatus } from "../../gen/ts/switchboard/v1/common_pb.js";
import { GuardrailStage } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { GuardrailAction, GuardrailRuleSchema, PiiEntity, type GuardrailRule } from "../../gen/ts/switchboard/v1/guardrail_service_pb.js";
import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import { startOpenAIFake } from "../fakes/openai-fake.js";
import type { FakeProvider } from "../fakes/fake-types.js";
import { clientsFor, type KeyedClients } from "../support/clients.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";

let gw: TestGateway;
let openai: FakeProvider;
let plain: KeyedClients;
let strict: KeyedClients;

const rule = (init: Parameters<typeof create<typeof GuardrailRuleSchema>>[1]): GuardrailRule => create(GuardrailRuleSchema, init);
const user = (text: string) => [{ role: Role.USER, content: [{ part: { case: "text" as const, value: text } }] }];
const textOf = (res: { message?: { content: Array<{ part: { case?: string; value?: unknown } }> } }) =>
  res.message?.content.map((p) => (p.part.case === "text" ? String(p.part.value) : "")).join("");
const ask = (c: KeyedClients, text: string) => c.capability.chat({ options: { route: "cached" }, messages: user(text) });
const outcome = (p: Promise<Awaited<ReturnType<typeof ask>>>) =>
  p.then(
    (res) => ({ text: textOf(res), cacheStatus: res.usage?.cacheStatus }),
    (e: unknown) => ({ code: ConnectError.from(e).code }),
  );

beforeAll(async () => {
  openai = await startOpenAIFake();
  gw = await startTestGateway({ baseUrls: { openai: `${openai.url}/v1` }, credentials: new Map([["credentials/openai", "sk-test"]]), cost: () => 1_500n });
  const platform = clientsFor(gw.url, gw.adminKey);
  await platform.tenants.createOrg({ orgId: "alpha", org: {} });
  await platform.tenants.createTeam({ parent: "orgs/alpha", teamId: "app", team: {} });
  const secretOf = async (keyId: string) =>
    (await platform.keys.createKey({ parent: "orgs/alpha/teams/app", keyId, key: { scopes: [Scope.INVOKE, Scope.GUARDRAILS_READ, Scope.GUARDRAILS_WRITE] } })).secret;
  plain = clientsFor(gw.url, await secretOf("plain"));
  strict = clientsFor(gw.url, await secretOf("strict"));
  const target = { provider: "openai", model: "gpt-4o-mini", credential: "credentials/openai" };
  await platform.routes.createRoute({ routeId: "cached", route: { targets: [target], cache: { ttl: { seconds: 60n } }, retry: { maxAttempts: 1 } } });
  await gw.models.resolver.refresh();
  // The strict key's output policy: no "project apollo", no email addresses in answers.
  await strict.guardrails.createGuardrailPolicy({
    parent: "orgs/alpha",
    policyId: "strict-out",
    policy: {
      enabled: true,
      attachments: ["orgs/alpha/teams/app/keys/strict"],
      rules: [
        rule({ id: "no-apollo", stage: GuardrailStage.OUTPUT, action: GuardrailAction.BLOCK, check: { case: "denyList", value: { phrases: ["project apollo"] } } }),
        rule({ id: "mask-mail", stage: GuardrailStage.OUTPUT, action: GuardrailAction.REDACT, check: { case: "pii", value: { entities: [PiiEntity.EMAIL] } } }),
      ],
    },
  });
});
afterAll(async () => {
  await gw?.close();
  await openai?.close();
});

describe("cache hits and output guardrails", () => {
  it("control: without a cached entry the strict key's output policy blocks the answer", async () => {
    openai.reset();
    openai.script({ reply: { text: "Project Apollo launches on Monday." } });
    expect(await outcome(ask(strict, "control: what launches on Monday?"))).toEqual({ code: Code.PermissionDenied });
  });

  it("does not serve another key's cached answer that this key's output policy blocks", async () => {
    openai.reset();
    openai.script({ reply: { text: "Project Apollo launches on Monday." } }, { reply: { text: "Project Apollo launches on Monday." } });
    expect(await outcome(ask(plain, "what launches on Monday?"))).toEqual({ text: "Project Apollo launches on Monday.", cacheStatus: CacheStatus.MISS });
    await new Promise((r) => setTimeout(r, 50)); // the store follows the answer
    // The strict key's policy blocks this answer (see the control above): it must not get it from the cache.
    expect(await outcome(ask(strict, "what launches on Monday?"))).toEqual({ code: Code.PermissionDenied });
  });

  it("does not replay another key's cached answer as a stream past this key's output policy", async () => {
    openai.reset();
    const long = `${"Here is the status of every project we run this quarter. ".repeat(8)}Next up: Project Apollo launches on Tuesday.`;
    openai.script({ reply: { text: long } }, { reply: { text: long } });
    expect(await outcome(ask(plain, "what launches on Tuesday?"))).toMatchObject({ cacheStatus: CacheStatus.MISS });
    await new Promise((r) => setTimeout(r, 50));
    let sent = "";
    let last = "";
    let reason: TruncationReason | undefined;
    for await (const e of strict.capability.chatStream({ options: { route: "cached" }, messages: user("what launches on Tuesday?") })) {
      last = e.event.case ?? "";
      if (e.event.case === "delta") sent += e.event.value.text;
      if (e.event.case === "truncated") reason = e.event.value.reason;
    }
    expect(sent.toLowerCase()).not.toContain("apollo");
    expect(last).toBe("truncated");
    expect(reason).toBe(TruncationReason.GUARDRAIL);
  });

  it("does not serve another key's cached answer unredacted when this key's output policy redacts it", async () => {
    openai.reset();
    openai.script({ reply: { text: "Write to jane.doe@example.com." } }, { reply: { text: "Write to jane.doe@example.com." } });
    expect(await outcome(ask(plain, "who do I write to?"))).toEqual({ text: "Write to jane.doe@example.com.", cacheStatus: CacheStatus.MISS });
    await new Promise((r) => setTimeout(r, 50));
    const res = await outcome(ask(strict, "who do I write to?"));
    expect(res).toMatchObject({ text: "Write to [EMAIL_1]." });
  });

  it("does not serve a cached answer that an output policy added since would block", async () => {
    openai.reset();
    openai.script({ reply: { text: "The launch codes are 0000." } }, { reply: { text: "The launch codes are 0000." } });
    expect(await outcome(ask(plain, "codes?"))).toMatchObject({ cacheStatus: CacheStatus.MISS });
    await new Promise((r) => setTimeout(r, 50));
    await plain.guardrails.createGuardrailPolicy({
      parent: "orgs/alpha",
      policyId: "org-out",
      policy: { enabled: true, attachments: ["orgs/alpha"], rules: [rule({ id: "no-codes", stage: GuardrailStage.OUTPUT, action: GuardrailAction.BLOCK, check: { case: "denyList", value: { phrases: ["launch codes"] } } })] },
    });
    expect(await outcome(ask(plain, "codes?"))).toEqual({ code: Code.PermissionDenied });
  });

  it("a miss the output policy stops mid-stream ends truncated (guardrail), billed, and is not stored", async () => {
    openai.reset();
    const long = `${"Here is the status of every project we run this quarter. ".repeat(8)}Next up: Project Apollo launches on Friday.`;
    openai.script({ reply: { text: long } }, { reply: { text: long } });
    const run = async () => {
      let last = "";
      let usage: { costMicrosUsd: bigint; cacheStatus: CacheStatus } | undefined;
      for await (const e of strict.capability.chatStream({ options: { route: "cached" }, messages: user("what launches on Friday?") })) {
        last = e.event.case ?? "";
        if (e.event.case === "truncated") usage = e.event.value.usage;
      }
      return { last, cost: usage?.costMicrosUsd, cacheStatus: usage?.cacheStatus };
    };
    expect(await run()).toEqual({ last: "truncated", cost: 1_500n, cacheStatus: CacheStatus.MISS });
    await new Promise((r) => setTimeout(r, 50));
    expect(await run()).toEqual({ last: "truncated", cost: 1_500n, cacheStatus: CacheStatus.MISS });
    expect(openai.requests()).toHaveLength(2);
  });
});
