import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAnthropicFake } from "../../test/fakes/anthropic-fake.js";
import type { FakeProvider } from "../../test/fakes/fake-types.js";
import { startOpenAIFake } from "../../test/fakes/openai-fake.js";
import { createDispatcher } from "../dispatch/dispatcher.js";
import { withDefaults, type ResolvedRoute } from "../dispatch/route-types.js";
import { createAnthropicProvider } from "../providers/anthropic.js";
import { createHttpClient } from "../providers/http/http-client.js";
import { createOpenAIProvider } from "../providers/openai.js";
import type { Provider } from "../providers/provider.js";
import { createDispatchPipeline } from "./dispatch-pipeline.js";
import type { CallMeta, ModelPipeline } from "./model-call.js";

let openai: FakeProvider;
let anthropic: FakeProvider;
let pipeline: ModelPipeline;
const http = createHttpClient();

beforeAll(async () => {
  openai = await startOpenAIFake();
  anthropic = await startAnthropicFake();
  const providers: Record<string, Provider> = {
    openai: createOpenAIProvider({ baseUrl: `${openai.url}/v1`, http }),
    anthropic: createAnthropicProvider({ baseUrl: anthropic.url, http }),
  };
  const routes: Record<string, ResolvedRoute> = {
    fast: withDefaults({
      alias: "fast",
      targets: [
        { provider: "openai", model: "gpt-4o-mini", credential: "credentials/openai", priority: 0 },
        { provider: "anthropic", model: "claude-haiku", credential: "credentials/anthropic", priority: 1 },
      ],
      retry: { maxAttempts: 1 },
    }),
  };
  pipeline = createDispatchPipeline({
    dispatcher: createDispatcher({ provider: (k) => providers[k], credential: async (name) => `key-for-${name}` }),
    routes: { resolve: (alias) => routes[alias] },
    // 1 µ$ per input token, 2 µ$ per output token: easy to check by hand.
    cost: (_p, _m, u) => BigInt(u.inputTokens) + 2n * BigInt(u.outputTokens),
  });
});
afterAll(async () => {
  await openai.close();
  await anthropic.close();
  await http.close();
});

const meta = (over: Partial<CallMeta> = {}): CallMeta => ({
  verb: "chat",
  route: "fast",
  requestId: "req-1",
  signal: AbortSignal.timeout(10_000),
  deadline: Date.now() + 10_000,
  tags: {},
  cache: { mode: "default" },
  ...over,
});
const hello = { model: "", messages: [{ role: "user" as const, content: [{ type: "text" as const, text: "hello there" }] }] };

describe("dispatch pipeline", () => {
  it("falls back across wire formats and prices every attempt, the failed one included", async () => {
    openai.reset();
    anthropic.reset();
    openai.script({ fault: { kind: "status", status: 503 } });
    anthropic.script({ reply: { text: "from claude", usage: { input: 10, output: 3 } } });
    const result = await pipeline.chat({ meta: meta(), request: hello });
    expect(result.response.text).toBe("from claude");
    expect(result.provider).toBe("anthropic");
    expect(result.attempts.map((a) => [a.provider, a.outcome])).toEqual([
      ["openai", "unavailable"],
      ["anthropic", "success"],
    ]);
    // The 503 billed nothing; the answer 10 + 2×3.
    expect(result.costMicrosUsd).toBe(16n);
    expect(anthropic.requests()[0]!.headers["x-api-key"]).toBe("key-for-credentials/anthropic");
  });

  it("streams, and resolves the result with attempts and cost once the stream ends", async () => {
    openai.reset();
    openai.script({ reply: { text: "streamed words here", usage: { input: 4, output: 3 } } });
    const stream = pipeline.chatStream({ meta: meta(), request: hello });
    let text = "";
    for await (const c of stream.chunks) if (c.type === "text") text += c.text;
    expect(text).toBe("streamed words here");
    const result = await stream.result();
    expect(result).toMatchObject({ provider: "openai", costMicrosUsd: 10n, cacheStatus: "miss" });
  });

  it("refuses an undefined route with NotFound", async () => {
    const err = await pipeline.chat({ meta: meta({ route: "nope" }), request: hello }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.NotFound);
  });
});

describe("failed calls", () => {
  it("register every attempt and its cost for the outer stages", async () => {
    const { failedCallAccounting } = await import("./dispatch-pipeline.js");
    openai.reset();
    anthropic.reset();
    openai.script({ fault: { kind: "status", status: 503 } });
    anthropic.script({ fault: { kind: "status", status: 500 } });
    const err = await pipeline.chat({ meta: meta(), request: hello }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    const accounting = failedCallAccounting(err);
    expect(accounting?.attempts.map((a) => a.provider)).toEqual(["openai", "anthropic"]);
    expect(accounting?.costMicrosUsd).toBe(0n);
  });
});
