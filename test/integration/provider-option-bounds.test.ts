/**
 * Request options that providers bound differently are checked per provider before any call:
 * a route's targets that cannot take a request are skipped (no attempt, nothing billed), and a
 * request no target can take is `invalid_argument` naming the field. OpenAI takes at most 4 `stop`
 * sequences (the fake answers 400 above that, as OpenAI does), Anthropic documents no such
 * bound; OpenAI's text-embedding-3-small gives 1 to 1,536 dimensions, ada-002 cannot shorten its
 * vectors, and Gemini's gemini-embedding-001 gives 128 to 3,072. The sampling penalties (and the
 * OpenAI surface's `logit_bias`) go only to targets whose adapter sends them: Anthropic has none,
 * so a route to it alone refuses a non-zero penalty rather than dropping it.
 */
import { ViolationsSchema } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { Code, ConnectError } from "@connectrpc/connect";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAnthropicFake } from "../fakes/anthropic-fake.js";
import type { FakeProvider } from "../fakes/fake-types.js";
import { startGeminiFake } from "../fakes/gemini-fake.js";
import { startOpenAIFake } from "../fakes/openai-fake.js";
import { billedByRequest } from "../support/billed-by-request.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { chatMessage, moneyClients, type MoneyClients } from "../support/money.js";

let gw: TestGateway;
let fakes: Record<"openai" | "anthropic" | "gemini", FakeProvider>;
let admin: MoneyClients;
let sdk: OpenAI;

const price = (provider: string, model: string) => ({ provider, model, effectiveFrom: "2020-01-01", input: 1_000_000, output: 10_000_000 });
const PRICES = { version: "option-bounds-1", rows: [price("openai", "gpt-test"), price("anthropic", "claude-test")] };
const openaiTarget = (model: string, priority = 0) => ({ provider: "openai", model, credential: "credentials/openai", priority });
const anthropicTarget = (priority: number) => ({ provider: "anthropic", model: "claude-test", credential: "credentials/anthropic", priority });

beforeAll(async () => {
  const [openai, anthropic, gemini] = await Promise.all([startOpenAIFake(), startAnthropicFake(), startGeminiFake()]);
  fakes = { openai, anthropic, gemini };
  gw = await startTestGateway({
    baseUrls: { openai: `${openai.url}/v1`, anthropic: anthropic.url, gemini: gemini.url },
    credentials: new Map([
      ["credentials/openai", "sk-openai-test"],
      ["credentials/anthropic", "sk-ant-test"],
      ["credentials/gemini", "gemini-test"],
    ]),
    prices: PRICES,
  });
  admin = moneyClients(gw.url, gw.adminKey);
  const create = (routeId: string, targets: object[]) => admin.routes.createRoute({ routeId, route: { targets, retry: { maxAttempts: 1 } } });
  await create("stops", [openaiTarget("gpt-test"), { provider: "anthropic", model: "claude-test", credential: "credentials/anthropic", priority: 1 }]);
  await create("openai-only", [openaiTarget("gpt-test")]);
  await create("anthropic-only", [anthropicTarget(0)]);
  await create("claude-first", [anthropicTarget(0), openaiTarget("gpt-test", 1)]);
  await create("embed-small", [openaiTarget("text-embedding-3-small")]);
  await create("embed-mixed", [openaiTarget("text-embedding-ada-002"), { provider: "gemini", model: "gemini-embedding-001", credential: "credentials/gemini", priority: 1 }]);
  await gw.models.resolver.refresh();
  sdk = new OpenAI({ apiKey: gw.adminKey, baseURL: `${gw.url}/v1`, maxRetries: 0 });
}, 30_000);
afterAll(async () => {
  await gw?.close();
  await Promise.all(Object.values(fakes ?? {}).map((f) => f.close()));
});

const resetFakes = () => Object.values(fakes).forEach((f) => f.reset());
const withId = (requestId: string) => ({ headers: { "x-request-id": requestId } });
const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error("the call succeeded");
    },
    (e: unknown) => ConnectError.from(e),
  );
/** The fields a refusal's `buf.validate.Violations` detail names. */
const violatedFields = (err: ConnectError) => err.findDetails(ViolationsSchema).flatMap((v) => v.violations.map((x) => x.field?.elements.map((e) => e.fieldName).join(".")));
const sentStops = (fake: FakeProvider, field: string) => fake.requests().map((r) => (r.body as Record<string, unknown>)[field]);
const stops = (n: number) => Array.from({ length: n }, (_, i) => `STOP${i}`);

describe("stop sequences are checked per provider", () => {
  it("a Chat with 5 stops on a route to OpenAI with an Anthropic fallback lands on Anthropic, with no failed attempt sent or billed", async () => {
    resetFakes();
    const res = await admin.verbs.chat({ options: { route: "stops" }, messages: chatMessage("hello"), stop: stops(5) }, withId("req-five-stops"));
    expect(res.message?.content.length).toBeGreaterThan(0);
    expect(fakes.openai.requests()).toEqual([]);
    expect(sentStops(fakes.anthropic, "stop_sequences")).toEqual([stops(5)]);
    const billed = await billedByRequest(() => gw).billed("req-five-stops");
    expect(billed.attempts).toBe(1);
    expect(billed.cost).toBeGreaterThan(0n);

    resetFakes();
    for await (const _ of admin.verbs.chatStream({ options: { route: "stops" }, messages: chatMessage("hello"), stop: stops(5) }));
    expect(fakes.openai.requests()).toEqual([]);
    expect(fakes.anthropic.requests()).toHaveLength(1);
  });

  it("4 stops still go to OpenAI first", async () => {
    resetFakes();
    await admin.verbs.chat({ options: { route: "stops" }, messages: chatMessage("hello"), stop: stops(4) });
    expect(sentStops(fakes.openai, "stop")).toEqual([stops(4)]);
    expect(fakes.anthropic.requests()).toEqual([]);
  });

  it("5 stops on a route with only OpenAI: INVALID_ARGUMENT on stop, before any call, nothing billed", async () => {
    resetFakes();
    const err = await failure(admin.verbs.chat({ options: { route: "openai-only" }, messages: chatMessage("hello"), stop: stops(5) }, withId("req-stops-refused")));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(violatedFields(err)).toEqual(["stop"]);
    expect(err.rawMessage).toContain("at most 4");
    expect((await billedByRequest(() => gw).billed("req-stops-refused")).attempts).toBe(0);
    const streamed = await failure(
      (async () => {
        for await (const _ of admin.verbs.chatStream({ options: { route: "openai-only" }, messages: chatMessage("hello"), stop: stops(5) }));
      })(),
    );
    expect(streamed.code).toBe(Code.InvalidArgument);
    expect(violatedFields(streamed)).toEqual(["stop"]);
    expect(fakes.openai.requests()).toEqual([]);
  });
});

describe("embedding dimensions are checked against the target model", () => {
  it("Embed above text-embedding-3-small's 1,536: INVALID_ARGUMENT on dimensions, nothing sent; within it, vectors of that length", async () => {
    resetFakes();
    const err = await failure(admin.verbs.embed({ options: { route: "embed-small" }, inputs: ["a text"], dimensions: 2000 }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(violatedFields(err)).toEqual(["dimensions"]);
    expect(err.rawMessage).toContain("1 to 1536");
    expect(fakes.openai.requests()).toEqual([]);

    const ok = await admin.verbs.embed({ options: { route: "embed-small" }, inputs: ["a text"], dimensions: 256 });
    expect(ok.dimensions).toBe(256);
    expect(ok.embeddings[0]?.values).toHaveLength(256);
  });

  it("the OpenAI surface refuses the same size with 400 on param dimensions", async () => {
    resetFakes();
    const err = await sdk.embeddings.create({ model: "embed-small", input: "a text", dimensions: 2000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("dimensions");
    expect(fakes.openai.requests()).toEqual([]);
  });

  it("a size ada-002 cannot give goes to the Gemini fallback, which gives it", async () => {
    resetFakes();
    const res = await admin.verbs.embed({ options: { route: "embed-mixed" }, inputs: ["a text"], dimensions: 768 });
    expect(res.dimensions).toBe(768);
    expect(fakes.openai.requests()).toEqual([]);
    expect(fakes.gemini.requests()).toHaveLength(1);
  });
});

describe("sampling penalties reach only targets that take them", () => {
  const body = (fake: FakeProvider) => fake.requests().map((r) => r.body as Record<string, unknown>);

  it("a Chat's penalties reach OpenAI as frequency_penalty and presence_penalty", async () => {
    resetFakes();
    await admin.verbs.chat({ options: { route: "openai-only" }, messages: chatMessage("hello"), frequencyPenalty: 0.5, presencePenalty: -0.5 });
    expect(body(fakes.openai).map((b) => [b.frequency_penalty, b.presence_penalty])).toEqual([[0.5, -0.5]]);
  });

  it("a route whose first target is Anthropic skips it for a penalty, with no attempt sent or billed there", async () => {
    resetFakes();
    const res = await admin.verbs.chat({ options: { route: "claude-first" }, messages: chatMessage("hello"), presencePenalty: 1 }, withId("req-penalty-skip"));
    expect(res.usage?.provider).toBe("openai");
    expect(fakes.anthropic.requests()).toEqual([]);
    expect(body(fakes.openai).map((b) => b.presence_penalty)).toEqual([1]);
    expect((await billedByRequest(() => gw).billed("req-penalty-skip")).attempts).toBe(1);
  });

  it("a penalty on a route to Anthropic alone: INVALID_ARGUMENT on the field, nothing sent or billed; a penalty of 0 goes through", async () => {
    resetFakes();
    const err = await failure(admin.verbs.chat({ options: { route: "anthropic-only" }, messages: chatMessage("hello"), frequencyPenalty: 0.25 }, withId("req-penalty-refused")));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(violatedFields(err)).toEqual(["frequency_penalty"]);
    expect(fakes.anthropic.requests()).toEqual([]);
    expect((await billedByRequest(() => gw).billed("req-penalty-refused")).attempts).toBe(0);
    await admin.verbs.chat({ options: { route: "anthropic-only" }, messages: chatMessage("hello"), frequencyPenalty: 0 });
    expect(fakes.anthropic.requests()).toHaveLength(1);
  });

  it("the Connect schema refuses a penalty outside -2..2", async () => {
    const err = await failure(admin.verbs.chat({ options: { route: "openai-only" }, messages: chatMessage("hello"), presencePenalty: 2.5 }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(violatedFields(err)).toEqual(["presence_penalty"]);
  });

  it("the OpenAI surface passes frequency_penalty, presence_penalty and logit_bias through, and answers 400 on param for a route that cannot take them", async () => {
    resetFakes();
    await sdk.chat.completions.create({ model: "openai-only", messages: [{ role: "user", content: "hi" }], frequency_penalty: 1, presence_penalty: 0.5, logit_bias: { "50256": -100 } });
    expect(body(fakes.openai).map((b) => [b.frequency_penalty, b.presence_penalty, b.logit_bias])).toEqual([[1, 0.5, { "50256": -100 }]]);
    for (const [field, extra] of [
      ["frequency_penalty", { frequency_penalty: 1 }],
      ["logit_bias", { logit_bias: { "50256": -100 } }],
    ] as const) {
      const err = await sdk.chat.completions.create({ model: "anthropic-only", messages: [{ role: "user", content: "hi" }], ...extra }).catch((e: unknown) => e);
      expect(err, field).toBeInstanceOf(OpenAI.BadRequestError);
      expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe(field);
    }
    expect(fakes.anthropic.requests()).toEqual([]);
  });
});
