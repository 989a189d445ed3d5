/**
 * Provider error classification and deadline propagation, end to end through the real adapters
 * and HTTP client: error envelopes in 200 answers, out-of-credit answers, the statuses never
 * retried, `retry-after` forms, and the upstream request aborted at the deadline (P9, P12).
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { FakeProvider } from "../../test/fakes/fake-types.js";
import { startOpenAIFake } from "../../test/fakes/openai-fake.js";
import { createDispatcher } from "../dispatch/dispatcher.js";
import { decideFailure } from "../dispatch/retryable.js";
import { route } from "../dispatch/testing/harness.js";
import { classifyHttpError as classifyAnthropic } from "./anthropic/errors.js";
import { httpError as classifyGemini } from "./gemini/errors.js";
import { createHttpClient, type HttpClient } from "./http/http-client.js";
import { parseRetryAfter } from "./http/retry-after.js";
import type { ModelRequest } from "./model.js";
import { createOpenAIProvider } from "./openai.js";
import { classifyHttpError as classifyOpenAI } from "./openai/errors.js";
import type { Provider } from "./provider.js";
import { KIND_DESCRIPTION, ProviderError } from "./provider-error.js";
import { providerFailure } from "./provider-calls.testing.js";

const ask: ModelRequest = { model: "m", messages: [{ role: "user", content: [{ type: "text", text: "hello" }] }] };
const decide = (e: ProviderError) => decideFailure(e, { committed: false, deadlineExpired: false, fallbackOnAuth: true, fallbackOnContextLength: true, fallbackOnContentFilter: false });

/** An HttpClient that answers every request with `status` and `body`, and counts the requests. */
function answering(status: number, body: string, headers: Record<string, string> = {}): HttpClient & { sent: number } {
  const client = {
    sent: 0,
    send: async () => {
      client.sent++;
      return {
        status,
        headers,
        body: (async function* () {
          yield new TextEncoder().encode(body);
        })(),
        text: async () => body,
      };
    },
    close: async () => {},
  };
  return client;
}

describe("OpenAI-compatible servers answering 200 with an error body", () => {
  // vLLM, LiteLLM-style proxies and OpenRouter can put an OpenAI error envelope in a 200 answer.
  it("classifies an embedded context-length error as context_length, not a retryable server_error", async () => {
    const body = JSON.stringify({ error: { message: "This model's maximum context length is 4096 tokens.", type: "invalid_request_error", code: "context_length_exceeded" } });
    const p = createOpenAIProvider({ kind: "vllm", baseUrl: "http://x/v1", http: answering(200, body) });
    const err = await providerFailure(p.chat(ask, { signal: new AbortController().signal }));
    expect(err.kind).toBe("context_length");
    expect(err.httpStatus).toBe(200);
    expect(err.message).not.toContain("4096");
    expect(decide(err).retrySameTarget).toBe(false);
  });

  it("classifies an embedded insufficient_quota as a broken credential (fallback, no retry)", async () => {
    const body = JSON.stringify({ error: { message: "You exceeded your current quota", type: "insufficient_quota", code: "insufficient_quota" } });
    const p = createOpenAIProvider({ kind: "openrouter", baseUrl: "http://x/v1", http: answering(200, body) });
    const err = await providerFailure(p.chat(ask, { signal: new AbortController().signal }));
    expect(err.kind).toBe("auth");
  });

  it("is not retried on the same target by dispatch (P9: never retry a 400)", async () => {
    const body = JSON.stringify({ error: { message: "Invalid 'messages': empty content", type: "invalid_request_error", code: 400 } });
    const http = answering(200, body);
    const p: Provider = createOpenAIProvider({ kind: "vllm", baseUrl: "http://x/v1", http });
    const d = createDispatcher({ provider: () => p, credential: async () => undefined, sleep: async () => {} });
    const err = await d.chat(route([{ provider: "vllm", model: "m" }], { retry: { maxAttempts: 3 } }), ask, { signal: new AbortController().signal, deadline: Date.now() + 5_000 }).catch((e: unknown) => e);
    expect(ConnectError.from(err).code).toBe(Code.InvalidArgument);
    expect(http.sent).toBe(1);
  });
});

describe("Anthropic's out-of-credit answer", () => {
  // Anthropic's documented answer when the account has no credit left: a 400 invalid_request_error.
  // OpenAI's equivalent (429 insufficient_quota) and Gemini's (billing not enabled) are `auth`: our
  // credential cannot be used, another target may serve the call.
  const body = JSON.stringify({
    type: "error",
    error: { type: "invalid_request_error", message: "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits." },
  });
  it("is a broken credential (falls back, counts against the target), not the caller's bad request", () => {
    const e = classifyAnthropic(400, {}, body);
    expect(e.kind).toBe("auth");
    expect(decide(e)).toMatchObject({ retrySameTarget: false, fallback: true, breaker: "failure" });
  });
});

describe("classification of the brief's cases (confirmations)", () => {
  it("OpenAI 429 insufficient_quota is not retried (auth: fall back), a 429 rate limit is", () => {
    const quota = classifyOpenAI("openai", 429, { "retry-after": "1" }, JSON.stringify({ error: { message: "quota", type: "insufficient_quota", param: null, code: "insufficient_quota" } }));
    expect(quota.kind).toBe("auth");
    expect(decide(quota)).toMatchObject({ retrySameTarget: false, fallback: true });
    const quotaTypeOnly = classifyOpenAI("openai", 429, {}, JSON.stringify({ error: { message: "quota", type: "insufficient_quota", code: null } }));
    expect(quotaTypeOnly.kind).toBe("auth");
    const limited = classifyOpenAI("openai", 429, { "retry-after-ms": "750" }, JSON.stringify({ error: { message: "Rate limit reached", type: "requests", code: "rate_limit_exceeded" } }));
    expect(limited).toMatchObject({ kind: "rate_limited", retryAfterMs: 750 });
    expect(decide(limited).retrySameTarget).toBe(true);
  });

  it("Anthropic 529 overloaded_error is overloaded with its retry-after", () => {
    const e = classifyAnthropic(529, { "retry-after": "3" }, JSON.stringify({ type: "error", error: { type: "overloaded_error", message: "Overloaded" } }));
    expect(e).toMatchObject({ kind: "overloaded", retryAfterMs: 3000, httpStatus: 529 });
    expect(decide(e).retrySameTarget).toBe(true);
  });

  it("Gemini 429 RESOURCE_EXHAUSTED is rate_limited with RetryInfo's delay", () => {
    const body = JSON.stringify({
      error: { code: 429, status: "RESOURCE_EXHAUSTED", message: "quota", details: [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "7s" }] },
    });
    expect(classifyGemini(429, {}, body)).toMatchObject({ kind: "rate_limited", retryAfterMs: 7000 });
  });

  it("parses retry-after as seconds, HTTP-date and retry-after-ms; never negative, capped", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(parseRetryAfter({ "retry-after": "Thu, 01 Jan 2026 00:00:05 GMT" }, now)).toBe(5000);
    expect(parseRetryAfter({ "retry-after": "Wed, 31 Dec 2025 23:59:00 GMT" }, now)).toBe(0);
    expect(parseRetryAfter({ "retry-after": "2" }, now)).toBe(2000);
    expect(parseRetryAfter({ "retry-after-ms": "120", "retry-after": "2" }, now)).toBe(120);
    expect(parseRetryAfter({ "retry-after": "99999999" }, now)).toBe(3_600_000);
    expect(parseRetryAfter({ "retry-after": "soon" }, now)).toBeUndefined();
  });

  it("never retries 400/401/403/404/413/422 from any adapter", () => {
    for (const status of [400, 401, 403, 404, 413, 422]) {
      for (const e of [classifyOpenAI("openai", status, {}, "{}"), classifyAnthropic(status, {}, "{}"), classifyGemini(status, {}, "{}")]) {
        expect(decide(e).retrySameTarget, `${status} ${e.kind}`).toBe(false);
      }
    }
  });

  it("gives callers the same words for the same failure from every adapter, never the provider's text", () => {
    const secret = "org-7f3 internal shard eu-4 said no";
    for (const status of [400, 401, 404, 429, 500]) {
      const body = JSON.stringify({ error: { message: secret } });
      const errors = [classifyOpenAI("openai", status, {}, body), classifyAnthropic(status, {}, body), classifyGemini(status, {}, body)];
      for (const e of errors) {
        expect(e.message, `${status} ${e.kind}`).toContain(KIND_DESCRIPTION[e.kind]);
        expect(e.message).not.toContain(secret);
      }
      expect(new Set(errors.map((e) => e.kind)).size, `${status}`).toBe(1);
    }
  });
});

describe("P12 the deadline aborts the upstream HTTP request", () => {
  let fake: FakeProvider;
  let http: HttpClient;
  beforeAll(async () => {
    fake = await startOpenAIFake();
    http = createHttpClient();
  });
  afterAll(async () => {
    await http.close();
    await fake.close();
  });
  beforeEach(() => fake.reset());

  it("closes the upstream request within 100 ms of the deadline (hang before headers)", async () => {
    fake.script({ fault: { kind: "hang" } });
    const p = createOpenAIProvider({ baseUrl: `${fake.url}/v1`, http });
    const d = createDispatcher({ provider: () => p, credential: async () => "sk-x" });
    const deadline = Date.now() + 300;
    const err = await d.chat(route([{ provider: "openai", model: "m", credential: "c" }]), ask, { signal: new AbortController().signal, deadline }).catch((e: unknown) => e);
    expect(ConnectError.from(err).code).toBe(Code.DeadlineExceeded);
    const end = Date.now() + 1_000;
    while (fake.requests()[0]?.abortedAt === undefined && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    const abortedAt = fake.requests()[0]?.abortedAt;
    expect(abortedAt).toBeDefined();
    expect((abortedAt as number) - deadline).toBeLessThan(1_000);
  });
});
