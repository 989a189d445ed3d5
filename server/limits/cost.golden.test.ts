import { describe, expect, it } from "vitest";
import { toTokenUsage as anthropicUsage } from "../providers/anthropic/usage.js";
import { usageOf as geminiUsage } from "../providers/gemini/response.js";
import type { TokenUsage } from "../providers/model.js";
import { fromWireUsage as openaiUsage } from "../providers/openai/wire.js";
import { estimatedUsage } from "../providers/usage-estimate.js";
import { BUILTIN_PRICE_TABLE } from "./builtin-prices.js";
import { costOfCall } from "./cost.js";
import { createPriceBook } from "./price-table.js";

/**
 * Golden costs: usage exactly as each provider reports it on the wire, turned into the neutral
 * `TokenUsage` by the adapter's own mapping, priced by the built-in table. The expected cost of
 * every case is worked out by hand in its comment (rates in µ$ per token = USD per million
 * tokens), so a change to an adapter's usage mapping or to the pricing arithmetic that bills
 * cached, cache-written, reasoning or streamed tokens differently fails here, per provider.
 */
interface Golden {
  name: string;
  provider: string;
  model: string;
  at?: string;
  usage: TokenUsage;
  micros: bigint;
}

const NOW = "2026-11-29T12:00:00Z";
const book = createPriceBook({ builtin: BUILTIN_PRICE_TABLE });

const OPENAI: Golden[] = [
  {
    // gpt-4o: $2.50 in, $1.25 cached, $10.00 out.
    // uncached 2006 − 1920 = 86 × 2.50 = 215; cached 1920 × 1.25 = 2400; out 300 × 10 = 3000
    // → 5615 µ$ exactly.
    name: "chat completion with a prompt-cache hit",
    provider: "openai",
    model: "gpt-4o-2024-08-06",
    usage: openaiUsage({ prompt_tokens: 2006, completion_tokens: 300, total_tokens: 2306, prompt_tokens_details: { cached_tokens: 1920 } }),
    micros: 5615n,
  },
  {
    // o4-mini: $1.10 in, $0.275 cached, $4.40 out (reasoning billed as output).
    // uncached 1234 − 1024 = 210 × 1.10 = 231; cached 1024 × 0.275 = 281.6;
    // visible 2345 − 1984 = 361 × 4.40 = 1588.4; reasoning 1984 × 4.40 = 8729.6
    // → 10830.6, rounded up once → 10831 µ$.
    name: "reasoning model with cached input and reasoning tokens",
    provider: "openai",
    model: "o4-mini-2025-04-16",
    usage: openaiUsage({
      prompt_tokens: 1234,
      completion_tokens: 2345,
      prompt_tokens_details: { cached_tokens: 1024 },
      completion_tokens_details: { reasoning_tokens: 1984 },
    }),
    micros: 10831n,
  },
  {
    // The original gpt-4o snapshot keeps its own $5 / $15 row: 1000 × 5 + 100 × 15 = 6500 µ$.
    name: "snapshot with its own price",
    provider: "openai",
    model: "gpt-4o-2024-05-13",
    usage: openaiUsage({ prompt_tokens: 1000, completion_tokens: 100 }),
    micros: 6500n,
  },
  {
    // o3 before its price cut: $10 in, $40 out: 1_000_000 × 10 + 100_000 × 40 = 14_000_000 µ$.
    name: "o3 billed at the price in force on 2025-05-01",
    provider: "openai",
    model: "o3",
    at: "2025-05-01T00:00:00Z",
    usage: openaiUsage({ prompt_tokens: 1_000_000, completion_tokens: 100_000 }),
    micros: 14_000_000n,
  },
  {
    // o3 after the cut: $2 in, $8 out: 1_000_000 × 2 + 100_000 × 8 = 2_800_000 µ$.
    name: "o3 billed at the price in force on 2025-07-01",
    provider: "openai",
    model: "o3",
    at: "2025-07-01T00:00:00Z",
    usage: openaiUsage({ prompt_tokens: 1_000_000, completion_tokens: 100_000 }),
    micros: 2_800_000n,
  },
  {
    // text-embedding-3-small: $0.02 in: 8000 × 0.02 = 160 µ$.
    name: "embeddings",
    provider: "openai",
    model: "text-embedding-3-small",
    usage: openaiUsage({ prompt_tokens: 8000, total_tokens: 8000 }),
    micros: 160n,
  },
  {
    // A stream cut before its usage chunk: the gateway's estimate, 4 characters a token, rounded
    // up: 4001 request chars → 1001 tokens, 1234 answer chars → 309 tokens.
    // gpt-4o-mini: $0.15 in, $0.60 out: 1001 × 0.15 = 150.15; 309 × 0.60 = 185.4
    // → 335.55, rounded up → 336 µ$.
    name: "streamed answer with estimated usage (no usage chunk)",
    provider: "openai",
    model: "gpt-4o-mini",
    usage: estimatedUsage(4001, 1234),
    micros: 336n,
  },
];

const ANTHROPIC: Golden[] = [
  {
    // claude-sonnet-4-5: $3 in, $3.75 cache write, $0.30 cache read, $15 out (thinking included).
    // Anthropic's input_tokens excludes cache reads and writes: prompt = 50 + 10000 + 2000.
    // uncached 50 × 3 = 150; read 10000 × 0.30 = 3000; write 2000 × 3.75 = 7500;
    // out 800 (300 of them thinking) × 15 = 12000 → 22650 µ$ exactly.
    name: "cache read and cache write with extended thinking",
    provider: "anthropic",
    model: "claude-sonnet-4-5-20250929",
    usage: anthropicUsage({
      input_tokens: 50,
      cache_read_input_tokens: 10_000,
      cache_creation_input_tokens: 2000,
      output_tokens: 800,
      output_tokens_details: { thinking_tokens: 300 },
    }),
    micros: 22650n,
  },
  {
    // claude-haiku-5-5, prompt 3000 + 10000 + 2000 = 15000 ≤ 100k: $0.10 in, $0.125 write,
    // $0.01 read, $0.50 out: 3000 × 0.10 = 300; 10000 × 0.01 = 100; 2000 × 0.125 = 250;
    // 1000 × 0.50 = 500 → 1150 µ$.
    name: "Haiku 5.5 below its 100k-token tier",
    provider: "anthropic",
    model: "claude-haiku-5-5",
    usage: anthropicUsage({ input_tokens: 3000, cache_read_input_tokens: 10_000, cache_creation_input_tokens: 2000, output_tokens: 1000 }),
    micros: 1150n,
  },
  {
    // claude-haiku-5-5, prompt 30000 + 100000 + 20000 = 150000 > 100k: every token at the long
    // tier ($0.50 in, $0.625 write, $0.05 read, $2.50 out): 30000 × 0.50 = 15000;
    // 100000 × 0.05 = 5000; 20000 × 0.625 = 12500; 1000 × 2.50 = 2500 → 35000 µ$.
    name: "Haiku 5.5 above its 100k-token tier (cache reads and writes count toward it)",
    provider: "anthropic",
    model: "claude-haiku-5-5",
    usage: anthropicUsage({ input_tokens: 30_000, cache_read_input_tokens: 100_000, cache_creation_input_tokens: 20_000, output_tokens: 1000 }),
    micros: 35000n,
  },
  {
    // Streamed: message_delta carries the cumulative usage; the adapter maps the last one.
    // claude-opus-4-1: $15 in, $18.75 write, $1.50 read, $75 out: 7 × 15 = 105;
    // 4096 × 1.50 = 6144; 0 writes; 333 × 75 = 24975 → 31224 µ$.
    name: "streamed message with a cache hit",
    provider: "anthropic",
    model: "claude-opus-4-1-20250805",
    usage: anthropicUsage({ input_tokens: 7, cache_read_input_tokens: 4096, cache_creation_input_tokens: 0, output_tokens: 333 }),
    micros: 31224n,
  },
];

const GEMINI: Golden[] = [
  {
    // gemini-2.5-flash: $0.30 in, $0.03 cached, $2.50 out (thoughts included).
    // promptTokenCount includes the cached tokens: uncached 5000 − 4096 = 904 × 0.30 = 271.2;
    // cached 4096 × 0.03 = 122.88; out 250 + 1200 thoughts = 1450 × 2.50 = 3625
    // → 4019.08, rounded up → 4020 µ$.
    name: "context-cache hit with thinking tokens",
    provider: "gemini",
    model: "gemini-2.5-flash",
    usage: geminiUsage({ promptTokenCount: 5000, cachedContentTokenCount: 4096, candidatesTokenCount: 250, thoughtsTokenCount: 1200 }),
    micros: 4020n,
  },
  {
    // gemini-2.5-pro at exactly 200k prompt tokens stays in the first tier ($1.25 in, $10 out):
    // 200000 × 1.25 = 250000; 1000 × 10 = 10000 → 260000 µ$.
    name: "2.5 Pro at its 200k-token threshold",
    provider: "gemini",
    model: "gemini-2.5-pro",
    usage: geminiUsage({ promptTokenCount: 200_000, candidatesTokenCount: 1000 }),
    micros: 260_000n,
  },
  {
    // gemini-2.5-pro above 200k: $2.50 in, $0.25 cached, $15 out for every token:
    // uncached 250000 − 50000 = 200000 × 2.50 = 500000; cached 50000 × 0.25 = 12500;
    // out 1000 + 500 thoughts = 1500 × 15 = 22500 → 535000 µ$.
    name: "2.5 Pro above its 200k-token tier",
    provider: "gemini",
    model: "gemini-2.5-pro",
    usage: geminiUsage({ promptTokenCount: 250_000, cachedContentTokenCount: 50_000, candidatesTokenCount: 1000, thoughtsTokenCount: 500 }),
    micros: 535_000n,
  },
  {
    // gemini-embedding-001: $0.15 in: 1000 × 0.15 = 150 µ$.
    name: "embeddings",
    provider: "gemini",
    model: "gemini-embedding-001",
    usage: geminiUsage({ promptTokenCount: 1000 }),
    micros: 150n,
  },
];

const SANDBOX: Golden[] = [
  {
    // sandbox-smart: $1.00 in, $1.25 write, $0.10 read, $4.00 out (OpenAI wire format).
    // uncached 1000 − 200 = 800 × 1.00 = 800; cached 200 × 0.10 = 20; out 500 × 4 = 2000
    // → 2820 µ$.
    name: "sandbox chat with a cache hit",
    provider: "sandbox",
    model: "sandbox-smart",
    usage: openaiUsage({ prompt_tokens: 1000, completion_tokens: 500, prompt_tokens_details: { cached_tokens: 200 } }),
    micros: 2820n,
  },
];

describe.each([
  ["OpenAI", OPENAI],
  ["Anthropic", ANTHROPIC],
  ["Gemini", GEMINI],
  ["sandbox", SANDBOX],
])("golden costs: %s", (_, cases) => {
  it.each(cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const cost = costOfCall(book, { provider: c.provider, model: c.model, usage: c.usage, at: new Date(c.at ?? NOW) });
    expect(cost).toEqual({ kind: "priced", micros: c.micros, priceVersion: BUILTIN_PRICE_TABLE.version, pricedModel: expect.any(String) });
  });
});
