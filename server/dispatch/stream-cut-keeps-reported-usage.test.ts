/**
 * P3: a streamed attempt the gateway cuts itself — the caller walks away, an idle, first-token or
 * attempt timeout fires — is recorded without waiting for the adapter. When the provider had
 * already reported usage mid-stream (Anthropic's `message_start`, Gemini's `usageMetadata` on
 * every chunk) the attempt is billed that report, cache reads and writes included, plus the
 * output that arrived; only a provider that reported nothing yet leaves an estimate of the input.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startAnthropicFake } from "../../test/fakes/anthropic-fake.js";
import type { FakeProvider } from "../../test/fakes/fake-types.js";
import { startGeminiFake } from "../../test/fakes/gemini-fake.js";
import { createAnthropicProvider } from "../providers/anthropic.js";
import { createGeminiProvider } from "../providers/gemini.js";
import { createHttpClient, type HttpClient } from "../providers/http/http-client.js";
import { emptyUsage } from "../providers/model.js";
import { ProviderError } from "../providers/provider-error.js";
import type { Provider } from "../providers/provider.js";
import { estimateTokens } from "../providers/usage-estimate.js";
import { chatRequest, dispatcherOver, drain, route, within } from "./testing/harness.js";
import { createScriptedProvider, type ScriptedProvider, type StreamEvent } from "./testing/scripted-provider.js";

let anthropicFake: FakeProvider;
let geminiFake: FakeProvider;
let http: HttpClient;
let anthropic: Provider;
let gemini: Provider;

beforeAll(async () => {
  [anthropicFake, geminiFake] = await Promise.all([startAnthropicFake(), startGeminiFake()]);
  http = createHttpClient();
  anthropic = createAnthropicProvider({ baseUrl: anthropicFake.url, http });
  gemini = createGeminiProvider({ baseUrl: geminiFake.url, http });
});
afterAll(async () => {
  await http.close();
  await Promise.all([anthropicFake.close(), geminiFake.close()]);
});
beforeEach(() => {
  anthropicFake.reset();
  geminiFake.reset();
});

const answer = "one two three four five six seven eight nine ten";
const target = (provider: string, model: string, extra: Record<string, unknown> = {}) =>
  route([{ provider, model, credential: `${provider}-key`, ...extra }], { retry: { maxAttempts: 1 } });
const claude = (extra: Record<string, unknown> = {}) => target("anthropic", "claude-sonnet-4-5", extra);
// 52,040 input tokens, 50,000 of them cache reads and 2,000 cache writes: "hello" is 2 by estimate.
const usage = { input: 52_040, cachedInput: 50_000, cacheWrite: 2_000 };
const reportedInput = { inputTokens: 52_040, cachedInputTokens: 50_000, cacheWriteInputTokens: 2_000 };

describe("anthropic: a stream the gateway cuts keeps the usage message_start reported", () => {
  it("the caller walks away after the first text: the reported input, the output that arrived", async () => {
    anthropicFake.script({ fault: { kind: "slow_drip", delayMs: 100 }, reply: { text: answer, usage } });
    const d = dispatcherOver([anthropic as unknown as ScriptedProvider]);
    const s = d.chatStream(claude(), chatRequest("hello"), within(10_000));
    let seen = "";
    for await (const chunk of s.chunks) {
      if (chunk.type !== "text") continue;
      seen += chunk.text;
      break;
    }
    const attempts = s.attempts();
    expect(attempts).toHaveLength(1);
    expect(attempts[0]?.outcome).toBe("cancelled");
    expect(attempts[0]?.usage).toEqual({ ...reportedInput, outputTokens: estimateTokens(seen.length), reasoningTokens: 0, estimated: true });
  });

  it("an idle timeout after content", async () => {
    anthropicFake.script({ fault: { kind: "slow_drip", delayMs: 300 }, reply: { text: answer, usage } });
    const d = dispatcherOver([anthropic as unknown as ScriptedProvider]);
    const s = d.chatStream(claude({ idleTimeoutMs: 100 }), chatRequest("hello"), within(10_000));
    const { error } = await drain(s.chunks);
    expect(error).toBeDefined();
    const attempts = s.attempts();
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({ outcome: "timeout", usage: { ...reportedInput, estimated: true } });
  });

  it("a first-token timeout after message_start, before any content: the reported input, no output", async () => {
    anthropicFake.script({ fault: { kind: "stall_after_first_chunk" }, reply: { text: answer, usage } });
    const d = dispatcherOver([anthropic as unknown as ScriptedProvider]);
    const s = d.chatStream(claude({ firstTokenTimeoutMs: 150 }), chatRequest("hello"), within(10_000));
    const { error } = await drain(s.chunks);
    expect(error).toBeDefined();
    expect(s.attempts()).toHaveLength(1);
    expect(s.attempts()[0]).toMatchObject({ outcome: "timeout", usage: { ...reportedInput, outputTokens: 0, estimated: true } });
  });
});

describe("gemini: a stream the gateway cuts keeps the last usageMetadata", () => {
  it("the caller walks away after the first text: the reported prompt (cached included)", async () => {
    geminiFake.script({ fault: { kind: "slow_drip", delayMs: 100 }, reply: { text: answer, usage: { input: 30_000, cachedInput: 25_000, output: 40 } } });
    const d = dispatcherOver([gemini as unknown as ScriptedProvider]);
    const s = d.chatStream(target("gemini", "gemini-2.5-flash"), chatRequest("hello"), within(10_000));
    for await (const chunk of s.chunks) if (chunk.type === "text") break;
    const attempts = s.attempts();
    expect(attempts).toHaveLength(1);
    expect(attempts[0]?.outcome).toBe("cancelled");
    expect(attempts[0]?.usage).toMatchObject({ inputTokens: 30_000, cachedInputTokens: 25_000, estimated: true });
    expect(attempts[0]?.usage.outputTokens).toBeGreaterThan(0);
  });
});

describe("any adapter reporting usage mid-stream (scripted)", () => {
  const streamOf = (events: StreamEvent[]) => createScriptedProvider({ kind: "a", script: [{ type: "stream", events }] });
  const start: StreamEvent = { chunk: { type: "start", model: "ma" } };
  const text: StreamEvent = { chunk: { type: "text", text: "twelve chars" } };

  it("nothing reported yet: the estimate of the input, as before", async () => {
    const d = dispatcherOver([streamOf([start, text, { hang: true }])]);
    const s = d.chatStream(route([{ provider: "a", model: "ma" }], { retry: { maxAttempts: 1 } }), chatRequest("hello"), within(10_000));
    for await (const chunk of s.chunks) if (chunk.type === "text") break;
    expect(s.attempts()).toHaveLength(1);
    expect(s.attempts()[0]).toMatchObject({ outcome: "cancelled", usage: { inputTokens: 2, outputTokens: 3, cachedInputTokens: 0, estimated: true } });
  });

  it("the request's deadline cuts it: the latest report, the output that arrived estimated on top", async () => {
    const events: StreamEvent[] = [start, { report: { inputTokens: 900, cachedInputTokens: 800 } }, text, { report: { inputTokens: 1_000, cachedInputTokens: 800, outputTokens: 1 } }, { hang: true }];
    const d = dispatcherOver([streamOf(events)]);
    const s = d.chatStream(route([{ provider: "a", model: "ma" }], { retry: { maxAttempts: 1 } }), chatRequest("hello"), within(150));
    const { error } = await drain(s.chunks);
    expect(error).toBeDefined();
    expect(s.attempts()).toHaveLength(1);
    expect(s.attempts()[0]?.usage).toEqual({ ...emptyUsage(true), inputTokens: 1_000, cachedInputTokens: 800, outputTokens: 3 });
  });

  it("a usage chunk already received is billed as it is, not as a report", async () => {
    const final = { ...emptyUsage(false), inputTokens: 1_000, cachedInputTokens: 800, outputTokens: 7 };
    const events: StreamEvent[] = [
      start,
      { report: { inputTokens: 1_000, cachedInputTokens: 800 } },
      text,
      { chunk: { type: "finish", reason: "stop" } },
      { chunk: { type: "usage", usage: final } },
      { hang: true },
    ];
    const d = dispatcherOver([streamOf(events)]);
    const s = d.chatStream(route([{ provider: "a", model: "ma", idleTimeoutMs: 80 }], { retry: { maxAttempts: 1 } }), chatRequest("hello"), within(10_000));
    await drain(s.chunks);
    expect(s.attempts()).toHaveLength(1);
    expect(s.attempts()[0]?.usage).toEqual(final);
  });

  it("an adapter's own failure keeps the usage it attached", async () => {
    const attached = { ...emptyUsage(true), inputTokens: 1_000, cachedInputTokens: 800, outputTokens: 5 };
    const events: StreamEvent[] = [start, { report: { inputTokens: 1_000, cachedInputTokens: 800 } }, text, { fail: new ProviderError("stream_error", "cut", { usage: attached }) }];
    const d = dispatcherOver([streamOf(events)]);
    const s = d.chatStream(route([{ provider: "a", model: "ma" }], { retry: { maxAttempts: 1 } }), chatRequest("hello"), within(10_000));
    await drain(s.chunks);
    expect(s.attempts()).toHaveLength(1);
    expect(s.attempts()[0]).toMatchObject({ outcome: "stream_error", usage: attached });
  });
});
