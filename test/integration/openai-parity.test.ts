/**
 * The OpenAI-compatible surface and the Connect verbs behind one pipeline, for what #10 adds:
 * a PII redaction sends the provider the same placeholder text from both surfaces (and restores
 * it in both answers); the OpenAI `user` field is recorded as the `end_user` tag of the usage
 * ledger, like `RequestOptions.end_user`, so usage reports filter and group by it; and
 * `x-switchboard-template` pins a prompt template version as `RequestOptions.prompt` does.
 */
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { CacheMode, Verb } from "../../gen/ts/switchboard/v1/common_pb.js";
import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import { GuardrailStage } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { GuardrailAction, GuardrailService } from "../../gen/ts/switchboard/v1/guardrail_service_pb.js";
import { PromptService } from "../../gen/ts/switchboard/v1/prompt_service_pb.js";
import { UsageDimension } from "../../gen/ts/switchboard/v1/usage_service_pb.js";
import type { FakeProvider } from "../fakes/fake-types.js";
import { startOpenAIFake } from "../fakes/openai-fake.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { chatMessage, createAppKey, moneyClients, type MoneyClients } from "../support/money.js";
import { createTestDatabase, type TestDatabase } from "../support/postgres.js";

let database: TestDatabase;
let fake: FakeProvider;
let gw: TestGateway;
let admin: MoneyClients;
let guardrails: Client<typeof GuardrailService>;
let prompts: Client<typeof PromptService>;
let app: { secret: string; name: string };

const BYPASS = { "x-switchboard-cache": "bypass" };
const sdk = () => new OpenAI({ apiKey: app.secret, baseURL: `${gw.url}/v1`, maxRetries: 0 });
const connect = () => moneyClients(gw.url, app.secret).verbs;
const user = (text: string) => [{ role: "user" as const, content: text }];
const sentMessages = () => fake.requests().map((r) => (r.body as { messages: unknown[] }).messages);

beforeAll(async () => {
  database = await createTestDatabase();
  fake = await startOpenAIFake();
  gw = await startTestGateway({ databaseUrl: database.url, baseUrls: { openai: `${fake.url}/v1` }, credentials: new Map([["credentials/openai", "sk-test"]]) });
  admin = moneyClients(gw.url, gw.adminKey);
  const withAdmin: Interceptor = (next) => (req) => {
    req.header.set("authorization", `Bearer ${gw.adminKey}`);
    return next(req);
  };
  const transport = createGrpcTransport({ baseUrl: gw.url, interceptors: [withAdmin] });
  guardrails = createClient(GuardrailService, transport);
  prompts = createClient(PromptService, transport);
  await admin.routes.createRoute({ routeId: "ext", route: { targets: [{ provider: "openai", model: "gpt-test", credential: "credentials/openai" }], retry: { maxAttempts: 1 } } });
  await gw.models.resolver.refresh();
  app = await createAppKey(admin, "acme");
});
afterAll(async () => {
  await gw?.close();
  await fake?.close();
  await database?.drop();
});

describe("the OpenAI surface and the Connect verbs agree", () => {
  it("a PII redaction: the provider sees the same placeholder text from both surfaces, and both answers restore it", async () => {
    await guardrails.createGuardrailPolicy({
      parent: "orgs/acme",
      policyId: "pii",
      policy: {
        enabled: true,
        attachments: ["orgs/acme"],
        rules: [{ id: "mask-pii", stage: GuardrailStage.INPUT, action: GuardrailAction.REDACT, check: { case: "pii", value: { restoreInResponse: true } } }],
      },
    });
    const text = "Write to me at jane.doe@example.com about the invoice.";
    fake.reset();
    fake.script({ reply: { text: "Sure, I will write to [EMAIL_1]." } }, { reply: { text: "Sure, I will write to [EMAIL_1]." } });

    const overConnect = await connect().chat({ options: { route: "ext", cache: { mode: CacheMode.BYPASS } }, messages: chatMessage(text) });
    const overOpenAI = await sdk().chat.completions.create({ model: "ext", messages: user(text) }, { headers: BYPASS });

    const [viaConnect, viaOpenAI] = sentMessages();
    expect(fake.requests()).toHaveLength(2);
    expect(JSON.stringify(viaConnect)).toContain("[EMAIL_1]");
    expect(JSON.stringify(viaConnect)).not.toContain("jane.doe@example.com");
    expect(viaOpenAI).toEqual(viaConnect);
    const restored = "Sure, I will write to jane.doe@example.com.";
    expect(overConnect.message?.content.map((p) => (p.part.case === "text" ? p.part.value : "")).join("")).toBe(restored);
    expect(overOpenAI.choices[0]!.message.content).toBe(restored);
  });

  it("records OpenAI's user (and RequestOptions.end_user) as the end_user tag: usage filters and groups by it", async () => {
    const key = await createAppKey(admin, "attrib");
    const start = new Date(Date.now() - 60_000);
    const openai = new OpenAI({ apiKey: key.secret, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    await openai.chat.completions.create({ model: "ext", messages: user("one"), user: "alice" }, { headers: BYPASS });
    await openai.chat.completions.create({ model: "ext", messages: user("two"), user: "alice" }, { headers: { ...BYPASS, "x-switchboard-tags": "end_user=mallory" } });
    await moneyClients(gw.url, key.secret).verbs.chat({ options: { route: "ext", endUser: "bob", cache: { mode: CacheMode.BYPASS } }, messages: chatMessage("three") });
    await openai.embeddings.create({ model: "ext", input: "four", user: "carol" });

    const window = { startTime: timestampFromDate(start), endTime: timestampFromDate(new Date(Date.now() + 60_000)) };
    const report = async () => {
      await gw.money.ledger.flush();
      return admin.usage.queryUsage({ parent: "orgs/attrib", ...window, groupBy: [UsageDimension.TAG], groupByTag: "end_user" });
    };
    const deadline = Date.now() + 10_000;
    let res = await report();
    while ((res.totals?.requests ?? 0n) < 4n && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      res = await report();
    }
    const byUser = Object.fromEntries(res.rows.map((r) => [r.group.tag, r.totals?.requests]));
    expect(byUser).toEqual({ alice: 2n, bob: 1n, carol: 1n });
    expect(byUser).not.toHaveProperty("mallory");
    const alice = await admin.usage.queryUsage({ parent: "orgs/attrib", ...window, filter: { tags: { end_user: "alice" } } });
    expect(alice.totals?.requests).toBe(2n);
  });

  it("refuses a NUL or an unpaired surrogate in a tag value or the end user on both surfaces, and in a key's tags, before anything is sent", async () => {
    // Postgres stores neither in jsonb: let through, the call's usage rows could not be written.
    const sent = fake.requests().length;
    const refused = async (call: Promise<unknown>) => call.then(() => undefined, (err: unknown) => err);
    for (const [body, headers, param] of [
      [{ metadata: { feature: "a\0b" } }, BYPASS, "metadata"],
      [{ metadata: { feature: "a\uDC00b" } }, BYPASS, "metadata"],
      [{}, { ...BYPASS, "x-switchboard-tags": "feature=a%00b" }, "x-switchboard-tags"],
      [{ user: "eve\0" }, BYPASS, "user"],
    ] as const) {
      const err = await refused(sdk().chat.completions.create({ model: "ext", messages: user("nul"), ...body }, { headers }));
      expect(err).toBeInstanceOf(OpenAI.BadRequestError);
      expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe(param);
      expect((err as Error).message).toContain("U+0000");
    }
    for (const options of [{ route: "ext", tags: { feature: "a\0b" } }, { route: "ext", endUser: "eve\0" }]) {
      const err = await refused(connect().chat({ options, messages: chatMessage("nul") }));
      expect(ConnectError.from(err).code).toBe(Code.InvalidArgument);
      expect(ConnectError.from(err).rawMessage).toMatch(/^options\.(tags\["feature"\]|end_user): .*U\+0000/);
    }
    const keyErr = await refused(admin.keys.createKey({ parent: "orgs/acme/teams/app", keyId: "nul-tag", key: { scopes: [Scope.INVOKE], tags: { app: "x\0" } } }));
    expect(ConnectError.from(keyErr).code).toBe(Code.InvalidArgument);
    expect(ConnectError.from(keyErr).rawMessage).toBe('key.tags["app"]: must be well-formed Unicode without U+0000 (NUL)');
    expect(fake.requests()).toHaveLength(sent);
  });

  it("x-switchboard-template pins a template version as RequestOptions.prompt does", async () => {
    await prompts.createPromptTemplate({
      parent: "orgs/acme",
      promptId: "tone",
      template: { verb: Verb.CHAT },
      firstVersion: { messages: [{ role: Role.SYSTEM, template: "Be terse." }] },
    });
    await prompts.createPromptVersion({ parent: "orgs/acme/prompts/tone", version: { messages: [{ role: Role.SYSTEM, template: "Be verbose." }] }, activate: false });
    await gw.models.prompts.catalog.refresh();
    fake.reset();

    await sdk().chat.completions.create({ model: "ext", messages: user("hi") }, { headers: { ...BYPASS, "x-switchboard-template": "orgs/acme/prompts/tone@2" } });
    await connect().chat({ options: { route: "ext", cache: { mode: CacheMode.BYPASS }, prompt: { name: "orgs/acme/prompts/tone", version: 2 } }, messages: chatMessage("hi") });
    await sdk().chat.completions.create({ model: "ext", messages: user("hi") }, { headers: { ...BYPASS, "x-switchboard-template": "orgs/acme/prompts/tone" } });
    const [pinned, viaConnect, active] = sentMessages();
    expect(pinned).toEqual([
      { role: "system", content: "Be verbose." },
      { role: "user", content: "hi" },
    ]);
    expect(viaConnect).toEqual(pinned);
    expect(active).toEqual([
      { role: "system", content: "Be terse." },
      { role: "user", content: "hi" },
    ]);

    const missing = await sdk()
      .chat.completions.create({ model: "ext", messages: user("hi") }, { headers: { "x-switchboard-template": "orgs/acme/prompts/nope" } })
      .catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    const malformed = await sdk()
      .chat.completions.create({ model: "ext", messages: user("hi") }, { headers: { "x-switchboard-template": "tone@two" } })
      .catch((e: unknown) => e);
    expect(malformed).toBeInstanceOf(OpenAI.BadRequestError);
    expect((malformed as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("x-switchboard-template");
    const onEmbeddings = await sdk()
      .embeddings.create({ model: "ext", input: "x" }, { headers: { "x-switchboard-template": "orgs/acme/prompts/tone" } })
      .catch((e: unknown) => e);
    expect(onEmbeddings).toBeInstanceOf(OpenAI.BadRequestError);
    expect(fake.requests()).toHaveLength(3);
  });
});
