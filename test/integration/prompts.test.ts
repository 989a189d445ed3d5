/**
 * Prompt templates end to end: PromptService through every interceptor, and the template a verb
 * renders as it reaches the provider (asserted on the OpenAI fake's recorded request bodies):
 * activation and rollback, pins, attachment precedence, tenant isolation, and a change on one
 * gateway reaching a second gateway on the same database within the poll interval.
 */
import { ViolationsSchema } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditOutcome, AuditService } from "../../gen/ts/switchboard/v1/audit_service_pb.js";
import { CapabilityService } from "../../gen/ts/switchboard/v1/capability_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { Verb } from "../../gen/ts/switchboard/v1/common_pb.js";
import { KeyService } from "../../gen/ts/switchboard/v1/key_service_pb.js";
import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import { PromptService } from "../../gen/ts/switchboard/v1/prompt_service_pb.js";
import { RouteService } from "../../gen/ts/switchboard/v1/route_service_pb.js";
import { TenantService } from "../../gen/ts/switchboard/v1/tenant_service_pb.js";
import type { FakeProvider } from "../fakes/fake-types.js";
import { startOpenAIFake } from "../fakes/openai-fake.js";
import { keyedTransport, outcome } from "../support/clients.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { createTestDatabase, type TestDatabase } from "../support/postgres.js";

interface Clients {
  prompts: Client<typeof PromptService>;
  verbs: Client<typeof CapabilityService>;
  tenants: Client<typeof TenantService>;
  keys: Client<typeof KeyService>;
  routes: Client<typeof RouteService>;
  audit: Client<typeof AuditService>;
}

function clients(url: string, secret: string): Clients {
  const transport = keyedTransport(url, secret);
  return {
    prompts: createClient(PromptService, transport),
    verbs: createClient(CapabilityService, transport),
    tenants: createClient(TenantService, transport),
    keys: createClient(KeyService, transport),
    routes: createClient(RouteService, transport),
    audit: createClient(AuditService, transport),
  };
}

const ORG_ADMIN = [Scope.PROMPTS_READ, Scope.PROMPTS_WRITE, Scope.INVOKE];

/** A summarize version whose system message carries `marker`. */
const summarizeVersion = (marker: string, description = marker) => ({
  description,
  messages: [
    { role: Role.SYSTEM, template: `${marker}: summarize in {{language}}.\n{{requirements}}` },
    { role: Role.USER, template: "{{text}}" },
  ],
});

/** The system text of the last request that reached the fake. */
function lastSystemPrompt(fake: FakeProvider): string {
  const body = fake.requests().at(-1)?.body as { messages?: { role: string; content: unknown }[] } | undefined;
  const system = body?.messages?.find((m) => m.role === "system")?.content;
  return typeof system === "string" ? system : JSON.stringify(system);
}

const failure = (call: Promise<unknown>) => call.then(() => undefined, (e: unknown) => ConnectError.from(e));

/** A gateway with the OpenAI fake behind a global route `ext`, and orgs with admin and app keys. */
async function setUp(gw: TestGateway) {
  const platform = clients(gw.url, gw.adminKey);
  await platform.routes.createRoute({ routeId: "ext", route: { targets: [{ provider: "openai", model: "gpt-4o-mini", credential: "credentials/openai" }] } });
  await gw.models.resolver.refresh();
  const secrets: Record<string, string> = {};
  for (const org of ["alpha", "bravo", "charlie"]) {
    await platform.tenants.createOrg({ orgId: org, org: {} });
    for (const team of ["admins", "search", "other"]) await platform.tenants.createTeam({ parent: `orgs/${org}`, teamId: team, team: {} });
    const mint = async (team: string, keyId: string, scopes: Scope[]) =>
      (await platform.keys.createKey({ parent: `orgs/${org}/teams/${team}`, keyId, key: { scopes } })).secret;
    secrets[`${org}/admin`] = await mint("admins", "admin", ORG_ADMIN);
    secrets[`${org}/web`] = await mint("search", "web", [Scope.INVOKE]);
    secrets[`${org}/cli`] = await mint("search", "cli", [Scope.INVOKE]);
    secrets[`${org}/ops`] = await mint("other", "ops", [Scope.INVOKE]);
  }
  return { platform, secrets, as: (who: string) => clients(gw.url, secrets[who]!) };
}

describe("prompt templates through one gateway", () => {
  let gw: TestGateway;
  let openai: FakeProvider;
  let platform: Clients;
  let as: (who: string) => Clients;

  beforeAll(async () => {
    openai = await startOpenAIFake();
    gw = await startTestGateway({ baseUrls: { openai: `${openai.url}/v1` }, credentials: new Map([["credentials/openai", "sk-openai-test"]]) });
    ({ platform, as } = await setUp(gw));
  });
  afterAll(async () => {
    await gw?.close();
    await openai?.close();
  });

  const summarize = (who: string, options: Record<string, unknown> = {}) =>
    as(who).verbs.summarize({ text: "Switchboard routes model calls. It keeps budgets.", language: "fr", options: { route: "ext", ...options } });

  it("creates, gets, lists in pages, updates and deletes templates; versions list newest first", async () => {
    const admin = as("alpha/admin").prompts;
    for (const id of ["t1", "t2", "t3"]) {
      const made = await admin.createPromptTemplate({ parent: "orgs/alpha", promptId: id, template: { verb: Verb.SUMMARIZE, description: id }, firstVersion: summarizeVersion(id) });
      expect(made.template).toMatchObject({ name: `orgs/alpha/prompts/${id}`, verb: Verb.SUMMARIZE, activeVersion: 1, latestVersion: 1 });
      expect(made.version).toMatchObject({ name: `orgs/alpha/prompts/${id}/versions/1`, version: 1, variables: ["language", "requirements", "text"], creator: "orgs/alpha/teams/admins/keys/admin" });
    }
    const first = await admin.listPromptTemplates({ parent: "orgs/alpha", pageSize: 2 });
    const second = await admin.listPromptTemplates({ parent: "orgs/alpha", pageSize: 2, pageToken: first.nextPageToken });
    expect([...first.templates, ...second.templates].map((t) => t.name)).toEqual(["orgs/alpha/prompts/t1", "orgs/alpha/prompts/t2", "orgs/alpha/prompts/t3"]);
    expect(second.nextPageToken).toBe("");
    expect((await admin.listPromptTemplates({ parent: "orgs/alpha", verb: Verb.CHAT })).templates).toEqual([]);

    const updated = await admin.updatePromptTemplate({
      template: { name: "orgs/alpha/prompts/t2", verb: Verb.SUMMARIZE, description: "changed", attachments: ["orgs/alpha/teams/other"] },
      updateMask: { paths: ["description", "attachments"] },
    });
    expect(updated.template).toMatchObject({ description: "changed", attachments: ["orgs/alpha/teams/other"] });
    expect((await admin.getPromptTemplate({ name: "orgs/alpha/prompts/t2" })).template?.description).toBe("changed");

    await admin.createPromptVersion({ parent: "orgs/alpha/prompts/t1", version: summarizeVersion("second") });
    const v3 = await admin.createPromptVersion({ parent: "orgs/alpha/prompts/t1", version: summarizeVersion("third"), activate: true });
    expect(v3.template).toMatchObject({ activeVersion: 3, latestVersion: 3 });
    const page1 = await admin.listPromptVersions({ parent: "orgs/alpha/prompts/t1", pageSize: 2 });
    const page2 = await admin.listPromptVersions({ parent: "orgs/alpha/prompts/t1", pageSize: 2, pageToken: page1.nextPageToken });
    expect([...page1.versions, ...page2.versions].map((v) => v.version)).toEqual([3, 2, 1]);

    for (const id of ["t1", "t2", "t3"]) await admin.deletePromptTemplate({ name: `orgs/alpha/prompts/${id}` });
    expect(await outcome(admin.getPromptTemplate({ name: "orgs/alpha/prompts/t1" }))).toBe("NotFound");
    expect(await outcome(admin.getPromptVersion({ name: "orgs/alpha/prompts/t1/versions/1" }))).toBe("NotFound");
  });

  it("keeps versions immutable: new versions and activations never change an earlier one", async () => {
    const admin = as("alpha/admin").prompts;
    await admin.createPromptTemplate({ parent: "orgs/alpha", promptId: "frozen", template: { verb: Verb.SUMMARIZE }, firstVersion: summarizeVersion("ONE") });
    const before = (await admin.getPromptVersion({ name: "orgs/alpha/prompts/frozen/versions/1" })).version;
    await admin.createPromptVersion({ parent: "orgs/alpha/prompts/frozen", version: summarizeVersion("TWO"), activate: true });
    await admin.activatePromptVersion({ name: "orgs/alpha/prompts/frozen/versions/1" });
    expect((await admin.getPromptVersion({ name: "orgs/alpha/prompts/frozen/versions/1" })).version).toEqual(before);
    await admin.deletePromptTemplate({ name: "orgs/alpha/prompts/frozen" });
  });

  it("refuses versions that cannot render for their verb, naming the field", async () => {
    const admin = as("alpha/admin").prompts;
    const noText = await failure(
      admin.createPromptTemplate({ parent: "orgs/alpha", promptId: "bad", template: { verb: Verb.SUMMARIZE }, firstVersion: { messages: [{ role: Role.SYSTEM, template: "Summarize {{tone}}." }] } }),
    );
    expect(noText?.code).toBe(Code.InvalidArgument);
    expect(noText?.rawMessage).toContain("first_version.messages[0].template: unknown variable {{tone}}");
    expect(noText?.rawMessage).toContain("first_version.messages: summarize templates must use {{text}}");
    const embed = await failure(
      admin.createPromptTemplate({ parent: "orgs/alpha", promptId: "bad", template: { verb: Verb.EMBED }, firstVersion: { messages: [{ role: Role.SYSTEM, template: "x" }] } }),
    );
    expect(embed?.code).toBe(Code.InvalidArgument);
    const global = await failure(admin.createPromptTemplate({ parent: "", promptId: "g", template: { verb: Verb.SUMMARIZE }, firstVersion: summarizeVersion("G") }));
    expect(global?.code).toBe(Code.PermissionDenied);
    const foreign = await failure(
      admin.createPromptTemplate({ parent: "orgs/alpha", promptId: "bad", template: { verb: Verb.SUMMARIZE, attachments: ["orgs/bravo/teams/search"] }, firstVersion: summarizeVersion("X") }),
    );
    expect(foreign?.code).toBe(Code.InvalidArgument);
    expect(foreign?.rawMessage).toContain("template.attachments[0]");
    const field = foreign?.findDetails(ViolationsSchema)[0]?.violations[0]?.field?.elements.map((e) => [e.fieldName, e.subscript.value]);
    expect(field).toEqual([["template", undefined], ["attachments", 0n]]);
  });

  it("activation changes the prompt that reaches the provider; activating an older version rolls back", async () => {
    const admin = as("alpha/admin").prompts;
    await admin.createPromptTemplate({
      parent: "orgs/alpha",
      promptId: "house",
      template: { verb: Verb.SUMMARIZE, attachments: ["orgs/alpha/teams/search/keys/web"] },
      firstVersion: summarizeVersion("STYLE-A"),
    });
    let res = await summarize("alpha/web");
    expect(lastSystemPrompt(openai)).toContain("STYLE-A: summarize in fr.");
    expect(res.usage?.prompt).toMatchObject({ name: "orgs/alpha/prompts/house", version: 1 });

    await admin.createPromptVersion({ parent: "orgs/alpha/prompts/house", version: summarizeVersion("STYLE-B"), activate: true });
    res = await summarize("alpha/web");
    expect(lastSystemPrompt(openai)).toContain("STYLE-B");
    expect(res.usage?.prompt?.version).toBe(2);

    await admin.activatePromptVersion({ name: "orgs/alpha/prompts/house/versions/1" });
    res = await summarize("alpha/web");
    expect(lastSystemPrompt(openai)).toContain("STYLE-A");
    expect(res.usage?.prompt?.version).toBe(1);

    // Each change is exactly one audit event; the rollback records the active version moving back.
    const { events } = await platform.audit.listAuditEvents({ parent: "orgs/alpha", resourcePrefix: "orgs/alpha/prompts/house" });
    const oldestFirst = [...events].sort((a, b) => Number(a.sequence - b.sequence));
    expect(oldestFirst.map((e) => [e.action.replace("switchboard.v1.PromptService/", ""), e.resource, e.outcome])).toEqual([
      ["CreatePromptTemplate", "orgs/alpha/prompts/house", AuditOutcome.SUCCESS],
      ["CreatePromptVersion", "orgs/alpha/prompts/house/versions/2", AuditOutcome.SUCCESS],
      ["ActivatePromptVersion", "orgs/alpha/prompts/house/versions/1", AuditOutcome.SUCCESS],
    ]);
    const rollback = oldestFirst[2]!;
    expect([rollback.actor, rollback.before?.activeVersion, rollback.after?.activeVersion]).toEqual(["orgs/alpha/teams/admins/keys/admin", 2, 1]);
  });

  it("a pinned version wins over the active one and over attachments", async () => {
    const admin = as("alpha/admin").prompts;
    await admin.activatePromptVersion({ name: "orgs/alpha/prompts/house/versions/2" });
    await admin.createPromptTemplate({ parent: "orgs/alpha", promptId: "pinned", template: { verb: Verb.SUMMARIZE }, firstVersion: summarizeVersion("PIN-1") });
    await admin.createPromptVersion({ parent: "orgs/alpha/prompts/pinned", version: summarizeVersion("PIN-2"), activate: true });

    let res = await summarize("alpha/web", { prompt: { name: "orgs/alpha/prompts/house", version: 1 } });
    expect(lastSystemPrompt(openai)).toContain("STYLE-A");
    expect(res.usage?.prompt).toMatchObject({ name: "orgs/alpha/prompts/house", version: 1 });
    res = await summarize("alpha/web", { prompt: { name: "orgs/alpha/prompts/pinned", version: 0 } });
    expect(lastSystemPrompt(openai)).toContain("PIN-2");
    res = await summarize("alpha/web", { prompt: { name: "orgs/alpha/prompts/pinned", version: 1 } });
    expect(lastSystemPrompt(openai)).toContain("PIN-1");
    expect(res.usage?.prompt).toMatchObject({ name: "orgs/alpha/prompts/pinned", version: 1 });
    expect((await failure(summarize("alpha/web", { prompt: { name: "orgs/alpha/prompts/pinned", version: 9 } })))?.code).toBe(Code.NotFound);
    const wrongVerb = await failure(as("alpha/web").verbs.classify({ text: "x", labels: [{ name: "a" }, { name: "b" }], options: { route: "ext", prompt: { name: "orgs/alpha/prompts/pinned" } } }));
    expect(wrongVerb?.code).toBe(Code.InvalidArgument);
  });

  it("attachment precedence: key > team > org > route > built-in", async () => {
    const admin = as("charlie/admin").prompts;
    const levels = [
      ["route", "routes/ext"],
      ["org", "orgs/charlie"],
      ["team", "orgs/charlie/teams/search"],
      ["key", "orgs/charlie/teams/search/keys/web"],
    ] as const;
    for (const [level, resource] of levels) {
      await admin.createPromptTemplate({ parent: "orgs/charlie", promptId: level, template: { verb: Verb.SUMMARIZE, attachments: [resource] }, firstVersion: summarizeVersion(`LEVEL-${level}`) });
    }
    // The key's own template; a sibling key gets the team's; a key of another team the org's.
    await summarize("charlie/web");
    expect(lastSystemPrompt(openai)).toContain("LEVEL-key");
    await summarize("charlie/cli");
    expect(lastSystemPrompt(openai)).toContain("LEVEL-team");
    await summarize("charlie/ops");
    expect(lastSystemPrompt(openai)).toContain("LEVEL-org");
    // Remove the most specific one at a time.
    for (const [level] of [...levels].reverse()) {
      const res = await summarize("charlie/web");
      expect(lastSystemPrompt(openai)).toContain(`LEVEL-${level}`);
      expect(res.usage?.prompt?.name).toBe(`orgs/charlie/prompts/${level}`);
      await admin.deletePromptTemplate({ name: `orgs/charlie/prompts/${level}` });
    }
    const res = await summarize("charlie/web");
    expect(lastSystemPrompt(openai)).toContain("expert editor");
    expect(res.usage?.prompt).toBeUndefined();
  });

  it("refuses a second template of the same verb on the same resource", async () => {
    const admin = as("charlie/admin").prompts;
    await admin.createPromptTemplate({ parent: "orgs/charlie", promptId: "first", template: { verb: Verb.SUMMARIZE, attachments: ["orgs/charlie/teams/other"] }, firstVersion: summarizeVersion("F") });
    const clash = await failure(
      admin.createPromptTemplate({ parent: "orgs/charlie", promptId: "second", template: { verb: Verb.SUMMARIZE, attachments: ["orgs/charlie/teams/other"] }, firstVersion: summarizeVersion("S") }),
    );
    expect(clash?.code).toBe(Code.FailedPrecondition);
    expect(clash?.rawMessage).toContain("orgs/charlie/prompts/first");
    await admin.deletePromptTemplate({ name: "orgs/charlie/prompts/first" });
  });

  it("RenderPromptPreview shows the exact messages, and names a missing variable", async () => {
    const admin = as("alpha/admin").prompts;
    const preview = await admin.renderPromptPreview({ prompt: { name: "orgs/alpha/prompts/house", version: 1 }, variables: { language: "de", requirements: "- short", text: "Hello {{world}}" } });
    expect(preview.version).toBe(1);
    expect(preview.messages.map((m) => [m.role, m.content[0]?.part.value])).toEqual([
      [Role.SYSTEM, "STYLE-A: summarize in de.\n- short"],
      [Role.USER, "Hello {{world}}"],
    ]);
    const missing = await failure(admin.renderPromptPreview({ prompt: { name: "orgs/alpha/prompts/house" }, variables: { text: "t", requirements: "r" } }));
    expect(missing?.code).toBe(Code.InvalidArgument);
    expect(missing?.rawMessage).toContain('missing variable "language"');
  });

  it("an org cannot see, change or use another org's templates", async () => {
    const bravo = as("bravo/admin").prompts;
    const name = "orgs/alpha/prompts/house";
    const attempts: Record<string, () => Promise<unknown>> = {
      get: () => bravo.getPromptTemplate({ name }),
      list: () => bravo.listPromptTemplates({ parent: "orgs/alpha" }),
      update: () => bravo.updatePromptTemplate({ template: { name, verb: Verb.SUMMARIZE, description: "pwned" }, updateMask: { paths: ["description"] } }),
      delete: () => bravo.deletePromptTemplate({ name }),
      createVersion: () => bravo.createPromptVersion({ parent: name, version: summarizeVersion("PWNED"), activate: true }),
      getVersion: () => bravo.getPromptVersion({ name: `${name}/versions/1` }),
      listVersions: () => bravo.listPromptVersions({ parent: name }),
      activate: () => bravo.activatePromptVersion({ name: `${name}/versions/1` }),
      preview: () => bravo.renderPromptPreview({ prompt: { name }, variables: {} }),
      create: () => bravo.createPromptTemplate({ parent: "orgs/alpha", promptId: "x", template: { verb: Verb.SUMMARIZE }, firstVersion: summarizeVersion("X") }),
    };
    for (const [what, attempt] of Object.entries(attempts)) expect([what, await outcome(attempt())]).toEqual([what, "NotFound"]);
    const pinned = await failure(summarize("bravo/web", { prompt: { name, version: 0 } }));
    expect(pinned?.code).toBe(Code.NotFound);

    // alpha's template attached to the global route applies to alpha's calls only.
    await as("alpha/admin").prompts.createPromptTemplate({ parent: "orgs/alpha", promptId: "route-wide", template: { verb: Verb.SUMMARIZE, attachments: ["routes/ext"] }, firstVersion: summarizeVersion("ALPHA-ROUTE") });
    await summarize("alpha/ops");
    expect(lastSystemPrompt(openai)).toContain("ALPHA-ROUTE");
    const res = await summarize("bravo/web");
    expect(lastSystemPrompt(openai)).not.toContain("ALPHA");
    expect(res.usage?.prompt).toBeUndefined();
    expect((await platform.prompts.getPromptTemplate({ name })).template?.description).toBe("");
  });

  it("uses a global template from every org, and only platform admins write it", async () => {
    await platform.prompts.createPromptTemplate({ parent: "", promptId: "house-chat", template: { verb: Verb.CHAT, attachments: ["routes/ext"] }, firstVersion: { messages: [{ role: Role.SYSTEM, template: "GLOBAL-CHAT rules." }] } });
    for (const who of ["bravo/web", "charlie/web"]) {
      const res = await as(who).verbs.chat({ options: { route: "ext" }, messages: [{ role: Role.USER, content: [{ part: { case: "text", value: "hi" } }] }] });
      expect(lastSystemPrompt(openai)).toBe("GLOBAL-CHAT rules.");
      expect(res.usage?.prompt).toMatchObject({ name: "prompts/house-chat", version: 1 });
    }
    expect((await as("bravo/admin").prompts.getPromptTemplate({ name: "prompts/house-chat" })).template?.verb).toBe(Verb.CHAT);
    expect(await outcome(as("bravo/admin").prompts.deletePromptTemplate({ name: "prompts/house-chat" }))).toBe("PermissionDenied");
    await platform.prompts.deletePromptTemplate({ name: "prompts/house-chat" });
  });

  it("refuses a pin on Embed, which renders no prompt", async () => {
    const err = await failure(as("alpha/web").verbs.embed({ inputs: ["a"], options: { route: "ext", prompt: { name: "orgs/alpha/prompts/house" } } }));
    expect(err?.code).toBe(Code.InvalidArgument);
  });
});

describe("prompt templates across two gateways on one Postgres", () => {
  let database: TestDatabase;
  let gwA: TestGateway;
  let gwB: TestGateway;
  let openai: FakeProvider;
  let secrets: Record<string, string>;
  const POLL_MS = 250;

  beforeAll(async () => {
    database = await createTestDatabase();
    openai = await startOpenAIFake();
    const common = { databaseUrl: database.url, baseUrls: { openai: `${openai.url}/v1` }, credentials: new Map([["credentials/openai", "sk-openai-test"]]), templatePollMs: POLL_MS };
    gwA = await startTestGateway(common);
    gwB = await startTestGateway({ ...common, adminKey: gwA.adminKey });
    ({ secrets } = await setUp(gwA));
    await gwB.models.resolver.refresh();
  });
  afterAll(async () => {
    await gwA?.close();
    await gwB?.close();
    await openai?.close();
    await database?.drop();
  });

  it("a template created, activated or rolled back on one gateway is rendered by the other within the poll interval", async () => {
    const onA = clients(gwA.url, secrets["alpha/admin"]!).prompts;
    const onB = clients(gwB.url, secrets["alpha/web"]!).verbs;
    const promptOnB = async () => {
      await onB.summarize({ text: "Switchboard keeps budgets.", language: "fr", options: { route: "ext" } });
      return lastSystemPrompt(openai);
    };
    /** How long B takes to render `marker` after a change on A. */
    const reachesB = async (marker: string) => {
      const started = Date.now();
      await expect.poll(promptOnB, { timeout: 5_000, interval: 25 }).toContain(marker);
      return Date.now() - started;
    };
    expect(await promptOnB()).toContain("expert editor");

    await onA.createPromptTemplate({ parent: "orgs/alpha", promptId: "shared", template: { verb: Verb.SUMMARIZE, attachments: ["orgs/alpha"] }, firstVersion: summarizeVersion("SHARED-1") });
    const lags = [await reachesB("SHARED-1")];
    await onA.createPromptVersion({ parent: "orgs/alpha/prompts/shared", version: summarizeVersion("SHARED-2"), activate: true });
    lags.push(await reachesB("SHARED-2"));
    await onA.activatePromptVersion({ name: "orgs/alpha/prompts/shared/versions/1" });
    lags.push(await reachesB("SHARED-1"));
    // One poll interval, plus the reload and the verb call itself.
    for (const lag of lags) expect(lag).toBeLessThan(POLL_MS + 750);
  });
});
