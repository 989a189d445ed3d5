/**
 * Every verb end to end through the Connect server: auth, validation, the model pipeline,
 * dispatch, the real adapters and their wire-faithful fakes. Also the exit-cost promise: the same
 * verb call works unchanged when its route moves from one provider to another.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SummaryStyle } from "../../gen/ts/switchboard/v1/capability_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import type { FakeProvider } from "../fakes/fake-types.js";
import type { TestGateway } from "../support/gateway.js";
import { moneyClients, type MoneyClients } from "../support/money.js";
import { startProviderFakesGateway, type ProviderFakesGateway } from "../support/provider-fakes-gateway.js";

let rig: ProviderFakesGateway;
let gw: TestGateway;
let openai: FakeProvider;
let anthropic: FakeProvider;
let gemini: FakeProvider;
let verbs: MoneyClients["verbs"];
let routes: MoneyClients["routes"];

beforeAll(async () => {
  rig = await startProviderFakesGateway();
  ({ gw, fakes: { openai, anthropic, gemini } } = rig);
  ({ verbs, routes } = moneyClients(gw.url, gw.adminKey));
  await routes.createRoute({ routeId: "ext", route: { targets: [{ provider: "openai", model: "gpt-4o-mini", credential: "credentials/openai" }] } });
  await gw.models.resolver.refresh();
});
afterAll(async () => {
  await rig?.close();
});

const ext = { route: "ext" };

describe("verbs through the gateway", () => {
  it("Extract rejects invalid output, repairs it with one follow-up call, and reports both calls", async () => {
    openai.reset();
    openai.script({ reply: { text: '{"invoice": "forty-two"}' } }, { reply: { text: '{"invoice": 42, "total": 99.5}' } });
    const res = await verbs.extract({
      options: ext,
      text: "Invoice 42, total 99.50",
      jsonSchema: { type: "object", properties: { invoice: { type: "integer" }, total: { type: "number" } }, required: ["invoice", "total"] },
    });
    expect(res.data).toEqual({ invoice: 42, total: 99.5 });
    expect(res.repaired).toBe(true);
    expect(res.usage?.modelCalls).toBe(2);
    expect(openai.requests()).toHaveLength(2);
    // Native structured output: the schema went to the provider as response_format.
    expect(JSON.stringify(openai.requests()[0]!.body)).toContain("json_schema");
  });

  it("Extract answers FailedPrecondition with the validation errors when the repair fails too", async () => {
    openai.reset();
    openai.script({ reply: { text: '{"invoice": "x"}' } }, { reply: { text: '{"invoice": "still wrong"}' } });
    const err = await verbs
      .extract({ options: ext, text: "Invoice", jsonSchema: { type: "object", properties: { invoice: { type: "integer" } }, required: ["invoice"] } })
      .catch((e: unknown) => ConnectError.from(e));
    expect((err as ConnectError).code).toBe(Code.FailedPrecondition);
    expect((err as ConnectError).rawMessage).toContain("/invoice");
  });

  it("Extract on an Anthropic route gets schema-constrained output: the schema goes to Claude as a forced tool", async () => {
    await routes.createRoute({ routeId: "ext-claude", route: { targets: [{ provider: "anthropic", model: "claude-haiku-4-5", credential: "credentials/anthropic" }] } });
    await gw.models.resolver.refresh();
    anthropic.reset();
    anthropic.script({ reply: { text: '{"invoice": 42, "total": 99.5}' } });
    const jsonSchema = { type: "object", properties: { invoice: { type: "integer" }, total: { type: "number" } }, required: ["invoice", "total"] };
    const res = await verbs.extract({ options: { route: "ext-claude" }, text: "Invoice 42, total 99.50", jsonSchema });
    expect(res.data).toEqual({ invoice: 42, total: 99.5 });
    expect(res.repaired).toBe(false);
    expect(res.usage?.provider).toBe("anthropic");
    const body = anthropic.requests()[0]!.body as { tools?: Array<{ name: string; input_schema: unknown }>; tool_choice?: { type: string; name?: string } };
    expect(body.tools?.map((t) => t.input_schema)).toEqual([jsonSchema]);
    expect(body.tool_choice).toMatchObject({ type: "tool", name: body.tools![0]!.name });
  });

  it("Classify never returns a label outside the set", async () => {
    openai.reset();
    openai.script({ reply: { text: '{"labels":[{"name":"spam","score":0.4},{"name":"urgent","score":0.9}]}' } });
    const res = await verbs.classify({ options: ext, text: "win a prize now", labels: [{ name: "spam" }, { name: "ham" }] });
    expect(res.labels.map((l) => l.name)).toEqual(["spam"]);
  });

  it("Answer keeps a real quote with offsets and drops a fabricated one", async () => {
    openai.reset();
    openai.script({
      reply: {
        text: JSON.stringify({
          answer: "It routes calls.",
          answerable: true,
          citations: [
            { source_id: "a", quote: "routes model calls" },
            { source_id: "a", quote: "never said this" },
          ],
        }),
      },
    });
    const res = await verbs.answer({ options: ext, question: "What does it do?", sources: [{ id: "a", text: "Switchboard routes model calls." }] });
    expect(res.citations).toEqual([expect.objectContaining({ sourceId: "a", quote: "routes model calls", start: 12, end: 30 })]);
    expect(res.droppedCitations.map((c) => c.quote)).toEqual(["never said this"]);
  });

  it("ChatStream streams deltas and ends with exactly one terminal event", async () => {
    openai.reset();
    openai.script({ reply: { text: "one two three four", usage: { input: 3, output: 4 } } });
    const events: string[] = [];
    let text = "";
    for await (const e of verbs.chatStream({ options: ext, messages: [{ role: Role.USER, content: [{ part: { case: "text", value: "count" } }] }] })) {
      events.push(e.event.case ?? "none");
      if (e.event.case === "delta") text += e.event.value.text;
    }
    expect(text).toBe("one two three four");
    expect(events[0]).toBe("started");
    expect(events.filter((e) => ["completed", "truncated", "upstreamError", "budgetExhausted"].includes(e))).toEqual(["completed"]);
    expect(events.at(-1)).toBe("completed");
  });

  it("the same Summarize call works unchanged when the route moves from OpenAI to Anthropic to Gemini", async () => {
    const call = () => verbs.summarize({ options: ext, text: "Switchboard is a gateway. It keeps budgets.", style: SummaryStyle.PARAGRAPH });
    for (const [provider, model, fake] of [
      ["openai", "gpt-4o-mini", openai],
      ["anthropic", "claude-haiku-4-5", anthropic],
      ["gemini", "gemini-2.5-flash", gemini],
    ] as const) {
      await routes.updateRoute({
        route: { name: "routes/ext", targets: [{ provider, model, credential: `credentials/${provider}` }] },
        updateMask: { paths: ["targets"] },
      });
      await gw.models.resolver.refresh();
      fake.reset();
      fake.script({ reply: { text: `summary from ${provider}` } });
      const res = await call();
      expect(res.summary).toBe(`summary from ${provider}`);
      expect(res.usage?.provider).toBe(provider);
      expect(fake.requests()).toHaveLength(1);
    }
  });

  it("falls back to the next target and lists both attempts in Usage", async () => {
    await routes.updateRoute({
      route: {
        name: "routes/ext",
        targets: [
          { provider: "openai", model: "gpt-4o-mini", credential: "credentials/openai", priority: 0 },
          { provider: "anthropic", model: "claude-haiku-4-5", credential: "credentials/anthropic", priority: 1 },
        ],
        retry: { maxAttempts: 1 },
      },
      updateMask: { paths: ["targets", "retry"] },
    });
    await gw.models.resolver.refresh();
    openai.reset();
    anthropic.reset();
    openai.script({ fault: { kind: "status", status: 500 } });
    anthropic.script({ reply: { text: "rescued" } });
    const res = await verbs.chat({ options: ext, messages: [{ role: Role.USER, content: [{ part: { case: "text", value: "hi" } }] }] });
    expect(res.message?.content[0]?.part.value).toBe("rescued");
    expect(res.usage?.attempts.map((a) => a.provider)).toEqual(["openai", "anthropic"]);
    expect(res.usage?.fallbacks).toBe(1);
  });

  it("Summarize of an input five times the context window goes map-reduce, every call within the context", async () => {
    await routes.updateRoute({
      route: { name: "routes/ext", targets: [{ provider: "openai", model: "gpt-4o-mini", credential: "credentials/openai" }] },
      updateMask: { paths: ["targets"] },
    });
    await gw.models.resolver.refresh();
    openai.reset();
    openai.script(...Array.from({ length: 40 }, (_, i) => ({ reply: { text: `partial summary ${i}.` } })));
    const sentence = "Switchboard routes model calls, enforces budgets and keeps an audit log of every change. ";
    // The default context is 8,192 tokens at about 4 characters a token: five windows of text.
    const text = sentence.repeat(Math.ceil((5 * 8192 * 4) / sentence.length));
    const res = await verbs.summarize({ options: ext, text });
    expect(res.chunks).toBeGreaterThanOrEqual(5);
    expect(res.usage?.modelCalls).toBe(openai.requests().length);
    expect(res.usage!.modelCalls).toBeGreaterThan(res.chunks);
    for (const req of openai.requests()) {
      const chars = JSON.stringify((req.body as { messages: unknown[] }).messages).length;
      expect(chars).toBeLessThan(8192 * 4);
    }
  });

  it("Embed returns one vector per input; with real credentials no sandbox route is seeded", async () => {
    const missing = await verbs.embed({ inputs: ["alpha"] }).catch((e: unknown) => ConnectError.from(e));
    expect((missing as ConnectError).code).toBe(Code.NotFound);
    await routes.createRoute({ routeId: "embed", route: { targets: [{ provider: "sandbox", model: "sandbox-embed" }] } });
    await gw.models.resolver.refresh();
    const res = await verbs.embed({ inputs: ["alpha", "beta"] });
    expect(res.embeddings).toHaveLength(2);
    expect(res.dimensions).toBe(256);
    expect(res.usage?.provider).toBe("sandbox");
  });
});

describe("RouteService", () => {
  it("names the bad field of an invalid route, with a did-you-mean", async () => {
    const err = await routes
      .createRoute({ routeId: "bad", route: { targets: [{ provider: "opnai", model: "gpt-4o" }] } })
      .catch((e: unknown) => ConnectError.from(e));
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
    expect((err as ConnectError).rawMessage).toContain('route.targets[0].provider: unknown provider "opnai" (did you mean "openai"?)');
  });

  it("creates, lists, gets and deletes a global route; a second create of the same alias conflicts", async () => {
    const created = await routes.createRoute({ routeId: "tmp", route: { description: "x", targets: [{ provider: "sandbox", model: "sandbox-fast" }] } });
    expect(created.route?.name).toBe("routes/tmp");
    const again = await routes
      .createRoute({ routeId: "tmp", route: { targets: [{ provider: "sandbox", model: "sandbox-smart" }] } })
      .catch((e: unknown) => ConnectError.from(e));
    expect((again as ConnectError).code).toBe(Code.AlreadyExists);
    const listed = await routes.listRoutes({});
    expect(listed.routes.map((r) => r.name)).toEqual(expect.arrayContaining(["routes/tmp", "routes/ext"]));
    expect((await routes.getRoute({ name: "routes/tmp" })).route?.description).toBe("x");
    await routes.deleteRoute({ name: "routes/tmp" });
    const gone = await routes.getRoute({ name: "routes/tmp" }).catch((e: unknown) => ConnectError.from(e));
    expect((gone as ConnectError).code).toBe(Code.NotFound);
  });
});
