/**
 * One suite every provider adapter must pass against its wire-faithful fake. Cases are generated
 * from each adapter's declared capabilities, so a capability cannot be declared without being
 * tested. Targets are discovered from `targets/*.ts`: adding an adapter means adding a target.
 */
import { readdirSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import type { ModelChunk, ModelRequest, ModelResponse } from "../../server/providers/model.js";
import { ProviderError, type ProviderErrorKind } from "../../server/providers/provider-error.js";
import type { Fault } from "../fakes/fake-types.js";
import type { ConformanceTarget } from "./conformance-target.js";

const targetDir = new URL("./targets/", import.meta.url);
const targets: ConformanceTarget[] = [];
for (const file of readdirSync(targetDir).filter((f) => f.endsWith(".ts")).sort()) {
  const mod = (await import(new URL(file, targetDir).href)) as { createTarget(): Promise<ConformanceTarget> };
  targets.push(await mod.createTarget());
}
afterAll(async () => {
  await Promise.all(targets.map((t) => t.close()));
});

/** A unique marker the fakes put in their error bodies; it must never reach an error message. */
const RAW_BODY_CANARY = "RAW-PROVIDER-BODY-CANARY-5e1f";

function ask(t: ConformanceTarget, text: string, extra: Partial<ModelRequest> = {}): ModelRequest {
  return { model: t.chatModel, messages: [{ role: "user", content: [{ type: "text", text }] }], maxOutputTokens: 256, ...extra };
}

async function collect(stream: AsyncIterable<ModelChunk>): Promise<ModelChunk[]> {
  const out: ModelChunk[] = [];
  for await (const c of stream) out.push(c);
  return out;
}

/** Folds a chunk list into what a unary call would have returned (and checks the contract). */
function fold(chunks: ModelChunk[]): Omit<ModelResponse, "model"> {
  const finishes = chunks.filter((c) => c.type === "finish");
  const usages = chunks.filter((c) => c.type === "usage");
  expect(finishes, "exactly one finish chunk").toHaveLength(1);
  expect(usages, "exactly one usage chunk").toHaveLength(1);
  const last2 = chunks.slice(-2).map((c) => c.type).sort();
  expect(last2, "finish and usage come after all content").toEqual(["finish", "usage"]);
  const calls = new Map<number, { id: string; name: string; argumentsJson: string }>();
  for (const c of chunks) {
    if (c.type !== "tool_call") continue;
    const call = calls.get(c.index) ?? { id: "", name: "", argumentsJson: "" };
    call.id ||= c.id ?? "";
    call.name ||= c.name ?? "";
    call.argumentsJson += c.argumentsDelta;
    calls.set(c.index, call);
  }
  return {
    text: chunks.map((c) => (c.type === "text" ? c.text : "")).join(""),
    toolCalls: [...calls.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v),
    finishReason: (finishes[0] as Extract<ModelChunk, { type: "finish" }>).reason,
    usage: (usages[0] as Extract<ModelChunk, { type: "usage" }>).usage,
  };
}

async function failure(p: Promise<unknown>): Promise<ProviderError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, "the call must fail").toBeInstanceOf(ProviderError);
  return err as ProviderError;
}

function expectSafe(t: ConformanceTarget, err: Error): void {
  expect(err.message).not.toContain(t.apiKey);
  expect(err.message).not.toContain(RAW_BODY_CANARY);
}

for (const t of targets) {
  const caps = t.provider.capabilities;
  describe(`conformance: ${t.name}`, () => {
    it("answers text with exact usage", async () => {
      t.fake.reset();
      t.fake.script({ reply: { text: "the answer is 42", usage: { input: 11, output: 4 } } });
      const res = await t.provider.chat(ask(t, "what is six times seven"), { signal: AbortSignal.timeout(10_000), apiKey: t.apiKey });
      expect(res.text).toBe("the answer is 42");
      expect(res.finishReason).toBe("stop");
      expect(res.usage).toMatchObject({ inputTokens: 11, outputTokens: 4, estimated: false });
      expect(res.toolCalls).toEqual([]);
    });

    it("reports cached input tokens", async () => {
      t.fake.reset();
      t.fake.script({ reply: { text: "ok", usage: { input: 1200, output: 2, cachedInput: 1024 } } });
      const res = await t.provider.chat(ask(t, "hello"), { signal: AbortSignal.timeout(10_000), apiKey: t.apiKey });
      expect(res.usage).toMatchObject({ inputTokens: 1200, outputTokens: 2, cachedInputTokens: 1024 });
    });

    it("sends the credential and nothing leaks it", async () => {
      t.fake.reset();
      await t.provider.chat(ask(t, "hi"), { signal: AbortSignal.timeout(10_000), apiKey: t.apiKey });
      const headers = JSON.stringify(t.fake.requests()[0]!.headers);
      expect(headers).toContain(t.apiKey);
      expect(t.fake.requests()[0]!.path).not.toContain(t.apiKey);
    });

    const statusCases: Array<[string, Fault, ProviderErrorKind[]]> = [
      ["429 → rate_limited with retry-after", { kind: "status", status: 429, retryAfterSeconds: 7, message: RAW_BODY_CANARY }, ["rate_limited"]],
      ["500 → server_error", { kind: "status", status: 500, message: RAW_BODY_CANARY }, ["server_error"]],
      ["503 → server_error or overloaded", { kind: "status", status: 503, message: RAW_BODY_CANARY }, ["server_error", "overloaded"]],
      ["529 → overloaded", { kind: "status", status: 529, message: RAW_BODY_CANARY }, ["overloaded"]],
      ["401 → auth", { kind: "status", status: 401, message: RAW_BODY_CANARY }, ["auth"]],
      ["404 → not_found", { kind: "status", status: 404, message: RAW_BODY_CANARY }, ["not_found"]],
      ["400 → bad_request", { kind: "status", status: 400, message: RAW_BODY_CANARY }, ["bad_request"]],
      ["refused connection → connection", { kind: "refuse" }, ["connection"]],
    ];
    for (const [label, fault, kinds] of statusCases) {
      it(`classifies ${label}`, async () => {
        t.fake.reset();
        t.fake.script({ fault });
        const err = await failure(t.provider.chat(ask(t, "hi"), { signal: AbortSignal.timeout(10_000), apiKey: t.apiKey }));
        expect(kinds).toContain(err.kind);
        if (fault.kind === "status") {
          expect(err.httpStatus).toBe(fault.status);
          if (fault.retryAfterSeconds !== undefined) expect(err.retryAfterMs).toBe(fault.retryAfterSeconds * 1000);
        }
        expectSafe(t, err);
      });
    }

    it("aborts a hung request when the signal fires", async () => {
      t.fake.reset();
      t.fake.script({ fault: { kind: "hang" } });
      const started = Date.now();
      const err = await failure(t.provider.chat(ask(t, "hi"), { signal: AbortSignal.timeout(300), apiKey: t.apiKey }));
      expect(["cancelled", "timeout"]).toContain(err.kind);
      expect(Date.now() - started).toBeLessThan(2_000);
    });

    if (caps.streaming) {
      it("streams the same answer as the unary call, with one finish and one usage", async () => {
        t.fake.reset();
        const text = "streaming works across several pieces of text";
        t.fake.script({ reply: { text, usage: { input: 9, output: 7 } } });
        const folded = fold(await collect(t.provider.chatStream(ask(t, "go"), { signal: AbortSignal.timeout(10_000), apiKey: t.apiKey })));
        expect(folded.text).toBe(text);
        expect(folded.finishReason).toBe("stop");
        expect(folded.usage).toMatchObject({ inputTokens: 9, outputTokens: 7, estimated: false });
      });

      it("gives the same result for any split of the byte stream", async () => {
        const text = "naïve café — ünïcödé 😀 and plain words too";
        for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
          t.fake.reset();
          t.fake.script({ reply: { text, usage: { input: 5, output: 9 } }, fault: { kind: "rechunk", seed, maxPiece: 1 + (seed % 5) } });
          const folded = fold(await collect(t.provider.chatStream(ask(t, "go"), { signal: AbortSignal.timeout(10_000), apiKey: t.apiKey })));
          expect(folded.text, `seed ${seed}`).toBe(text);
          expect(folded.usage.outputTokens).toBe(9);
        }
      });

      it("decodes UTF-8 split across writes exactly", async () => {
        t.fake.reset();
        const text = "héllo wörld 😀 日本語";
        t.fake.script({ reply: { text }, fault: { kind: "split_utf8" } });
        const folded = fold(await collect(t.provider.chatStream(ask(t, "go"), { signal: AbortSignal.timeout(10_000), apiKey: t.apiKey })));
        expect(folded.text).toBe(text);
      });

      it("estimates usage when the stream reports none", async () => {
        t.fake.reset();
        t.fake.script({ reply: { text: "some words with no usage reported" }, fault: { kind: "missing_usage" } });
        const folded = fold(await collect(t.provider.chatStream(ask(t, "go"), { signal: AbortSignal.timeout(10_000), apiKey: t.apiKey })));
        expect(folded.usage.estimated).toBe(true);
        expect(folded.usage.outputTokens).toBeGreaterThan(0);
      });

      for (const [label, fault] of [
        ["a cut stream", { kind: "cut" }],
        ["a malformed event", { kind: "malformed_sse" }],
        ["an in-stream provider error", { kind: "mid_stream_error" }],
      ] as Array<[string, Fault]>) {
        it(`fails ${label} explicitly, never as a clean end`, async () => {
          t.fake.reset();
          t.fake.script({ reply: { text: "one two three four five six seven eight nine ten" }, fault });
          const chunks: ModelChunk[] = [];
          const err = await failure(
            (async () => {
              for await (const c of t.provider.chatStream(ask(t, "go"), { signal: AbortSignal.timeout(10_000), apiKey: t.apiKey })) chunks.push(c);
            })(),
          );
          expect(["stream_error", "overloaded", "server_error", "rate_limited"]).toContain(err.kind);
          expect(chunks.some((c) => c.type === "finish")).toBe(false);
          expectSafe(t, err);
        });
      }

      it("bills what a broken stream generated: the error carries usage", async () => {
        t.fake.reset();
        t.fake.script({ reply: { text: "one two three four five six seven eight nine ten eleven twelve" }, fault: { kind: "cut" } });
        let received = "";
        const err = await failure(
          (async () => {
            for await (const c of t.provider.chatStream(ask(t, "go"), { signal: AbortSignal.timeout(10_000), apiKey: t.apiKey })) {
              if (c.type === "text") received += c.text;
            }
          })(),
        );
        expect(received.length).toBeGreaterThan(0);
        expect(err.usage, "a failure after content carries usage").toBeDefined();
        expect(err.usage!.outputTokens).toBeGreaterThan(0);
        expect(err.usage!.inputTokens).toBeGreaterThan(0);
      });

      it("reports the provider's usage even when it overran max tokens", async () => {
        t.fake.reset();
        t.fake.script({ reply: { text: "short" }, fault: { kind: "overrun_max_tokens" } });
        const folded = fold(
          await collect(t.provider.chatStream(ask(t, "go", { maxOutputTokens: 5 }), { signal: AbortSignal.timeout(10_000), apiKey: t.apiKey })),
        );
        const truth = t.fake.truth().at(-1)!;
        expect(truth.outputTokens).toBeGreaterThan(5);
        expect(folded.usage.outputTokens).toBe(truth.outputTokens);
      });

      it("stops the upstream request within 100 ms of a cancellation", async () => {
        t.fake.reset();
        t.fake.script({ reply: { text: "a b c d e f g h i j k l m n o p" }, fault: { kind: "slow_drip", delayMs: 200 } });
        const controller = new AbortController();
        const stream = t.provider.chatStream(ask(t, "go"), { signal: controller.signal, apiKey: t.apiKey });
        const err = await failure(
          (async () => {
            for await (const c of stream) if (c.type === "text") controller.abort();
          })(),
        );
        const abortedAt = Date.now();
        expect(err.kind).toBe("cancelled");
        const deadline = Date.now() + 1_000;
        while (t.fake.requests()[0]?.abortedAt === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
        const seen = t.fake.requests()[0]!.abortedAt;
        expect(seen).toBeDefined();
        expect(seen! - abortedAt).toBeLessThan(100);
      });
    }

    if (caps.tools) {
      const weather = { name: "get_weather", description: "Weather for a city", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } };
      it("returns a tool call and maps the tool definition", async () => {
        t.fake.reset();
        t.fake.script({ reply: { toolCalls: [{ id: "call_1", name: "get_weather", argumentsJson: '{"city":"Paris"}' }], finishReason: "tool_calls" } });
        const res = await t.provider.chat(ask(t, "weather in Paris?", { tools: [weather] }), { signal: AbortSignal.timeout(10_000), apiKey: t.apiKey });
        expect(res.finishReason).toBe("tool_calls");
        expect(res.toolCalls).toHaveLength(1);
        expect(res.toolCalls[0]!.name).toBe("get_weather");
        expect(JSON.parse(res.toolCalls[0]!.argumentsJson)).toEqual({ city: "Paris" });
        expect(res.toolCalls[0]!.id).not.toBe("");
        expect(JSON.stringify(t.fake.requests()[0]!.body)).toContain("get_weather");
      });

      if (caps.streaming) {
        it("streams tool calls that reassemble to the same arguments", async () => {
          t.fake.reset();
          const calls = [{ id: "call_1", name: "get_weather", argumentsJson: '{"city":"Paris"}' }];
          if (caps.parallelToolCalls) calls.push({ id: "call_2", name: "get_weather", argumentsJson: '{"city":"Oslo"}' });
          t.fake.script({ reply: { toolCalls: calls, finishReason: "tool_calls" } });
          const folded = fold(await collect(t.provider.chatStream(ask(t, "weather?", { tools: [weather] }), { signal: AbortSignal.timeout(10_000), apiKey: t.apiKey })));
          expect(folded.finishReason).toBe("tool_calls");
          expect(folded.toolCalls.map((c) => JSON.parse(c.argumentsJson))).toEqual(calls.map((c) => JSON.parse(c.argumentsJson)));
          expect(folded.toolCalls.every((c) => c.id !== "" && c.name === "get_weather")).toBe(true);
        });
      }
    }

    if (caps.jsonSchema) {
      it("sends the JSON schema natively", async () => {
        t.fake.reset();
        t.fake.script({ reply: { text: '{"invoice_total":42}' } });
        const schema = { type: "object", properties: { invoice_total: { type: "number" } }, required: ["invoice_total"] };
        const res = await t.provider.chat(ask(t, "extract", { responseFormat: { type: "json_schema", name: "invoice", schema, strict: true } }), {
          signal: AbortSignal.timeout(10_000),
          apiKey: t.apiKey,
        });
        expect(JSON.parse(res.text)).toEqual({ invoice_total: 42 });
        expect(JSON.stringify(t.fake.requests()[0]!.body)).toContain("invoice_total");
      });
    }

    if (caps.embeddings) {
      it("embeds a batch, one vector per input in order", async () => {
        t.fake.reset();
        expect(t.embedModel, "a target with embeddings names an embedding model").toBeDefined();
        const res = await t.provider.embed!({ model: t.embedModel!, inputs: ["alpha", "beta gamma", "delta"] }, { signal: AbortSignal.timeout(10_000), apiKey: t.apiKey });
        expect(res.vectors).toHaveLength(3);
        const dims = res.vectors[0]!.length;
        expect(dims).toBeGreaterThan(0);
        expect(res.vectors.every((v) => v.length === dims)).toBe(true);
        expect(res.vectors[0]).not.toEqual(res.vectors[1]);
        expect(res.usage.inputTokens).toBeGreaterThan(0);
      });
    }
  });
}

describe("conformance suite", () => {
  it("has every wire format among its targets", () => {
    const kinds = new Set(targets.map((t) => t.fake.kind));
    expect([...kinds].sort()).toEqual(expect.arrayContaining(["anthropic", "gemini", "openai"]));
  });
});
