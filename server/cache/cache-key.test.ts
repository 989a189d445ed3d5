import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { withDefaults } from "../dispatch/route-types.js";
import type { ModelRequest } from "../providers/model.js";
import { canonicalJson } from "./canonical-json.js";
import { exactCacheKey, type CacheKeyInput } from "./cache-key.js";

const route = withDefaults({ alias: "fast", targets: [{ provider: "openai", model: "gpt-4o-mini", credential: "credentials/openai" }] });

const base = (): CacheKeyInput => ({
  orgId: "org_a",
  verb: "chat",
  kind: "chat",
  template: { name: "prompts/support", version: 3 },
  route,
  request: {
    model: "",
    messages: [
      { role: "system", content: [{ type: "text", text: "Be brief." }] },
      { role: "user", content: [{ type: "text", text: "What is the capital of France?" }] },
      { role: "assistant", content: [], toolCalls: [{ id: "call_1", name: "lookup", argumentsJson: '{"q":"france"}' }] },
      { role: "tool", content: [{ type: "text", text: "Paris" }], toolCallId: "call_1", name: "lookup" },
    ],
    tools: [{ name: "lookup", description: "Looks things up", parameters: { type: "object", properties: { q: { type: "string" } } } }],
    toolChoice: { type: "auto" },
    responseFormat: { type: "text" },
    maxOutputTokens: 256,
    temperature: 0.2,
    topP: 0.9,
    stop: ["\n\n"],
    seed: 7,
    parallelToolCalls: true,
    reasoningEffort: "low",
    frequencyPenalty: 0.5,
    presencePenalty: -0.5,
    logitBias: { "50256": -100 },
  },
});

/** One change to exactly one answer-shaping field; each must move the key. */
const MUTATIONS: Record<string, (k: CacheKeyInput) => void> = {
  tenant: (k) => (k.orgId = "org_b"),
  verb: (k) => (k.verb = "summarize"),
  kind: (k) => (k.kind = "embed"),
  templateName: (k) => (k.template = { name: "prompts/other", version: 3 }),
  templateVersion: (k) => (k.template = { name: "prompts/support", version: 4 }),
  templateDropped: (k) => (k.template = undefined),
  routeAlias: (k) => (k.route = { ...k.route, alias: "smart" }),
  targetModel: (k) => (k.route = { ...k.route, targets: [{ ...k.route.targets[0]!, model: "gpt-4o" }] }),
  targetProvider: (k) => (k.route = { ...k.route, targets: [{ ...k.route.targets[0]!, provider: "azure" }] }),
  targetDeployment: (k) => (k.route = { ...k.route, targets: [{ ...k.route.targets[0]!, params: { deployment: "eu" } }] }),
  extraTarget: (k) => (k.route = { ...k.route, targets: [...k.route.targets, { ...k.route.targets[0]!, model: "gpt-4o", priority: 1 }] }),
  userText: (k) => (chat(k).messages[1]!.content = [{ type: "text", text: "What is the capital of Spain?" }]),
  systemText: (k) => (chat(k).messages[0]!.content = [{ type: "text", text: "Be verbose." }]),
  role: (k) => (chat(k).messages[0]!.role = "user"),
  image: (k) => chat(k).messages[1]!.content.push({ type: "image", data: new Uint8Array([1, 2, 3]), mimeType: "image/png" }),
  toolCallId: (k) => (chat(k).messages[3]!.toolCallId = "call_2"),
  toolCallArgs: (k) => (chat(k).messages[2]!.toolCalls = [{ id: "call_1", name: "lookup", argumentsJson: '{"q":"spain"}' }]),
  speakerName: (k) => (chat(k).messages[1]!.name = "alice"),
  tools: (k) => (chat(k).tools = [{ name: "lookup2" }]),
  toolsDropped: (k) => delete chat(k).tools,
  toolParams: (k) => (chat(k).tools![0]!.parameters = { type: "object" }),
  toolChoice: (k) => (chat(k).toolChoice = { type: "required" }),
  toolChoiceNamed: (k) => (chat(k).toolChoice = { type: "tool", name: "lookup" }),
  responseFormat: (k) => (chat(k).responseFormat = { type: "json_object" }),
  responseSchema: (k) => (chat(k).responseFormat = { type: "json_schema", name: "x", schema: { type: "object" }, strict: true }),
  maxTokens: (k) => (chat(k).maxOutputTokens = 257),
  temperature: (k) => (chat(k).temperature = 0.3),
  temperatureDropped: (k) => delete chat(k).temperature,
  topP: (k) => (chat(k).topP = 1),
  stop: (k) => (chat(k).stop = ["\n"]),
  stopOrder: (k) => (chat(k).stop = ["a", "b"]),
  seed: (k) => (chat(k).seed = 8),
  parallelToolCalls: (k) => (chat(k).parallelToolCalls = false),
  reasoningEffort: (k) => (chat(k).reasoningEffort = "high"),
  reasoningEffortDropped: (k) => delete chat(k).reasoningEffort,
  frequencyPenalty: (k) => (chat(k).frequencyPenalty = 0.6),
  frequencyPenaltyDropped: (k) => delete chat(k).frequencyPenalty,
  presencePenalty: (k) => (chat(k).presencePenalty = 1),
  presencePenaltyDropped: (k) => delete chat(k).presencePenalty,
  logitBias: (k) => (chat(k).logitBias = { "50256": 100 }),
  logitBiasToken: (k) => (chat(k).logitBias = { "50257": -100 }),
  messageDropped: (k) => chat(k).messages.pop(),
};

function chat(k: CacheKeyInput): ModelRequest {
  return k.request as ModelRequest;
}

/** The same value with every object's keys in reverse order (JSON with reordered keys). */
function reordered<T>(value: T): T {
  if (Array.isArray(value)) return value.map(reordered) as T;
  if (value === null || typeof value !== "object" || value instanceof Uint8Array) return value;
  return Object.fromEntries(Object.entries(value as object).reverse().map(([k, v]) => [k, reordered(v)])) as T;
}

describe("exactCacheKey", () => {
  it("is 64 lowercase hex characters and stable", () => {
    expect(exactCacheKey(base())).toMatch(/^[0-9a-f]{64}$/);
    expect(exactCacheKey(base())).toBe(exactCacheKey(base()));
  });

  it("is the key earlier versions stored entries under (a change of derivation must bump CACHE_KEY_VERSION)", () => {
    // Computed with the key derivation of commit 48449db (per-piece canonical JSON), before the
    // text came from one JSON.stringify: stored entries stay reachable across that change.
    const route = withDefaults({
      alias: "support",
      targets: [
        { provider: "openai", model: "gpt-4o-mini", weight: 3 },
        { provider: "azure", model: "gpt-4o", params: { deployment: "prod-eu" }, priority: 1 },
      ],
      cache: { ttlMs: 60_000 },
    });
    const request = {
      model: "ignored",
      messages: [
        { role: "system", content: [{ type: "text", text: "Be brief." }] },
        { role: "user", content: [{ type: "text", text: "Capital of France?" }, { type: "image", url: "https://example.com/a.png", mimeType: "image/png" }] },
      ],
      maxOutputTokens: 200,
      temperature: 0.2,
      stop: ["END"],
      tools: [{ name: "lookup", description: "d", parameters: { type: "object", properties: { q: { type: "string" }, a: { type: "number" } }, required: ["q"] } }],
    } as ModelRequest;
    expect(exactCacheKey({ orgId: "org_1", verb: "chat", kind: "chat", request, template: { name: "house", version: 3 }, route })).toBe(
      "b32f328057afd9a1f9a30e52da229c3eab786aa6cc62111736974cef9a490f47",
    );
  });

  it("changes when any one answer-shaping field changes (property: random field, random repetition)", () => {
    const names = Object.keys(MUTATIONS);
    fc.assert(
      fc.property(fc.constantFrom(...names), fc.string({ maxLength: 20 }), (name, userText) => {
        const a = base();
        chat(a).messages[1]!.content = [{ type: "text", text: `Question: ${userText}` }];
        const b = structuredClone(a);
        b.route = a.route;
        MUTATIONS[name]!(b);
        expect(exactCacheKey(b), name).not.toBe(exactCacheKey(a));
      }),
      { numRuns: 300 },
    );
  });

  it("is equal for the same request built with its keys in another order, and ignores the model and credentials", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), fc.option(fc.integer({ min: 1, max: 4096 }), { nil: undefined }), (text, max) => {
        const a = base();
        chat(a).messages[1]!.content = [{ type: "text", text }];
        if (max === undefined) delete chat(a).maxOutputTokens;
        else chat(a).maxOutputTokens = max;
        const b = reordered(structuredClone(a));
        (b.request as ModelRequest).model = "whatever-the-caller-named";
        b.route = { ...a.route, targets: a.route.targets.map((t) => ({ ...t, credential: "credentials/rotated", attemptTimeoutMs: 5 })) };
        expect(exactCacheKey(b)).toBe(exactCacheKey(a));
      }),
    );
  });

  it("treats an absent field and an undefined one alike", () => {
    const a = base();
    const b = base();
    chat(b).seed = undefined;
    delete chat(a).seed;
    expect(exactCacheKey(b)).toBe(exactCacheKey(a));
  });

  it("ignores prompt-cache breakpoints and the prompt-caching mode: they change what a provider call costs, not the answer", () => {
    const a = base();
    const b = base();
    chat(b).messages[0]!.content = [{ type: "text", text: "Be brief.", cacheBreakpoint: true }];
    chat(b).messages[3]!.content = [{ type: "text", text: "Paris", cacheBreakpoint: true }];
    chat(b).tools![0]!.cacheBreakpoint = true;
    chat(b).promptCaching = "auto";
    const before = structuredClone(chat(b));
    expect(exactCacheKey(b)).toBe(exactCacheKey(a));
    // The request handed to the provider keeps its marks.
    expect(chat(b)).toEqual(before);
    // A marked part still counts by its text.
    chat(b).messages[0]!.content = [{ type: "text", text: "Be verbose.", cacheBreakpoint: true }];
    expect(exactCacheKey(b)).not.toBe(exactCacheKey(a));
  });

  it("keys embeddings by inputs, dimensions and input type", () => {
    const embed = (request: Partial<{ inputs: string[]; dimensions: number; inputType: "query" | "document" }>): string =>
      exactCacheKey({ ...base(), verb: "embed", kind: "embed", template: undefined, request: { model: "", inputs: ["a"], ...request } });
    const keys = [embed({}), embed({ inputs: ["b"] }), embed({ inputs: ["a", "b"] }), embed({ dimensions: 8 }), embed({ inputType: "query" })];
    expect(new Set(keys).size).toBe(keys.length);
  });
});

describe("canonicalJson", () => {
  it("sorts keys, drops undefined, writes -0 as 0 and bytes as base64", () => {
    expect(canonicalJson({ b: 1, a: [undefined, -0], c: undefined, d: new Uint8Array([255]) })).toBe('{"a":[null,0],"b":1,"d":{"$bytes":"/w=="}}');
  });
  it("refuses values with no JSON form instead of collapsing them", () => {
    expect(() => canonicalJson({ t: Number.NaN })).toThrow(TypeError);
    expect(() => canonicalJson({ t: 1n })).toThrow(TypeError);
  });
});
