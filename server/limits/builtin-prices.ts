import { usdPerMillion, type PriceRowInput, type PriceTable, type TokenRatesInput } from "./price-table.js";

/**
 * Prices as a pricing page prints them: USD per million tokens, as decimal text (parsed exactly
 * by `usdPerMillion`). Omitted cached / cache-write rates mean "billed as plain input", omitted
 * reasoning means "billed as output" — true of every provider below.
 */
interface Usd {
  input: string;
  output: string;
  cachedInput?: string;
  cacheWriteInput?: string;
}

function rates(usd: Usd): TokenRatesInput {
  return {
    input: usdPerMillion(usd.input),
    output: usdPerMillion(usd.output),
    ...(usd.cachedInput === undefined ? {} : { cachedInput: usdPerMillion(usd.cachedInput) }),
    ...(usd.cacheWriteInput === undefined ? {} : { cacheWriteInput: usdPerMillion(usd.cacheWriteInput) }),
  };
}

/** One row per model id in `models`, all at the same price from the same date. */
function rows(
  provider: string,
  models: readonly string[],
  effectiveFrom: string,
  usd: Usd,
  longContext?: { aboveInputTokens: number } & Usd,
): PriceRowInput[] {
  return models.map((model) => ({
    provider,
    model,
    effectiveFrom,
    ...rates(usd),
    ...(longContext === undefined ? {} : { longContext: { aboveInputTokens: longContext.aboveInputTokens, ...rates(longContext) } }),
  }));
}

/*
 * Sources (list prices, standard tier: no batch, flex or priority discounts; read 2026-11-29):
 *
 * OpenAI — https://developers.openai.com/api/docs/pricing and the per-model pages
 *   (https://developers.openai.com/api/docs/models/<model>, e.g. text-embedding-3-large: $0.13),
 *   cross-checked against third-party tables that copy them (deploybase.ai "OpenAI pricing",
 *   March 2026; rate_cards.yaml in akushonkamen/oG-Memory). o3's price cut of 2025-06-10
 *   ($10/$40 → $2/$8) is kept as two dated rows. The original gpt-4o snapshot (2024-05-13) still
 *   bills $5/$15 and keeps its own row, which the longest-prefix lookup prefers.
 *
 * Anthropic — https://platform.claude.com/docs/en/about-claude/pricing ("Model pricing": base
 *   input, 5-minute cache writes, cache hits, output) and the model overview pages
 *   (https://platform.claude.com/docs/en/models/<model>/overview) for Opus 5.5, Sonnet 5.5 and
 *   Haiku 5.5 (two tiers around a 100,000-token prompt). Cache writes are priced at the 5-minute
 *   rate, the default TTL; the adapter does not report 1-hour writes separately, so those
 *   (billed 1.6× higher) are undercounted until it does. The Sonnet 5.5 cache-hit cut to $0.10
 *   from 2026-10-07 comes from release notes that track the live page (kurofune/claudit v1.9.2,
 *   TheKrush/PromptFuel v1.0.23); the stored copy of the model page still shows $0.20. The
 *   Sonnet 4 / 4.5 tier above 200k input tokens ($6 / $22.50) is the pricing page's "Long
 *   context pricing" section.
 *
 * Google — https://ai.google.dev/gemini-api/docs/pricing (paid tier; text/image/video input —
 *   audio input bills higher and is not modelled; output includes thinking tokens; context
 *   caching at the 90 %-off read rate; Gemini 2.5 Pro's second tier above 200k prompt tokens),
 *   cross-checked against deploybase.ai "Gemini API pricing 2026" (March 2026).
 *
 * `effectiveFrom` is the model's release (or the price change) where the source gives one; a
 * model's earliest row also covers earlier usage, so the date matters only where a price changed.
 */
const OPENAI: PriceRowInput[] = [
  ...rows("openai", ["gpt-4o"], "2024-08-06", { input: "2.50", cachedInput: "1.25", output: "10.00" }),
  ...rows("openai", ["gpt-4o-2024-05-13"], "2024-05-13", { input: "5.00", output: "15.00" }),
  ...rows("openai", ["gpt-4o-mini"], "2024-07-18", { input: "0.15", cachedInput: "0.075", output: "0.60" }),
  ...rows("openai", ["gpt-4.1"], "2025-04-14", { input: "2.00", cachedInput: "0.50", output: "8.00" }),
  ...rows("openai", ["gpt-4.1-mini"], "2025-04-14", { input: "0.40", cachedInput: "0.10", output: "1.60" }),
  ...rows("openai", ["gpt-4.1-nano"], "2025-04-14", { input: "0.10", cachedInput: "0.025", output: "0.40" }),
  ...rows("openai", ["gpt-5"], "2025-08-07", { input: "1.25", cachedInput: "0.125", output: "10.00" }),
  ...rows("openai", ["gpt-5-mini"], "2025-08-07", { input: "0.25", cachedInput: "0.025", output: "2.00" }),
  ...rows("openai", ["gpt-5-nano"], "2025-08-07", { input: "0.05", cachedInput: "0.005", output: "0.40" }),
  ...rows("openai", ["o1"], "2024-12-17", { input: "15.00", cachedInput: "7.50", output: "60.00" }),
  ...rows("openai", ["o1-mini", "o3-mini"], "2025-01-31", { input: "1.10", cachedInput: "0.55", output: "4.40" }),
  ...rows("openai", ["o3"], "2025-04-16", { input: "10.00", cachedInput: "2.50", output: "40.00" }),
  ...rows("openai", ["o3"], "2025-06-10", { input: "2.00", cachedInput: "0.50", output: "8.00" }),
  ...rows("openai", ["o4-mini"], "2025-04-16", { input: "1.10", cachedInput: "0.275", output: "4.40" }),
  ...rows("openai", ["text-embedding-3-small"], "2024-01-25", { input: "0.02", output: "0" }),
  ...rows("openai", ["text-embedding-3-large"], "2024-01-25", { input: "0.13", output: "0" }),
];

const OPUS_4 = { input: "15", cacheWriteInput: "18.75", cachedInput: "1.50", output: "75" };
const OPUS_45 = { input: "5", cacheWriteInput: "6.25", cachedInput: "0.50", output: "25" };
const SONNET_4 = { input: "3", cacheWriteInput: "3.75", cachedInput: "0.30", output: "15" };
const SONNET_4_LONG = { aboveInputTokens: 200_000, input: "6", cacheWriteInput: "7.50", cachedInput: "0.60", output: "22.50" };
const SONNET_5 = { input: "2", cacheWriteInput: "2.50", cachedInput: "0.20", output: "10" };

const ANTHROPIC: PriceRowInput[] = [
  ...rows("anthropic", ["claude-opus-5-5"], "2026-09-23", { input: "4", cacheWriteInput: "5", cachedInput: "0.20", output: "20" }),
  ...rows("anthropic", ["claude-opus-5"], "2026-07-24", OPUS_45),
  ...rows("anthropic", ["claude-opus-4-8", "claude-opus-4-7", "claude-opus-4-6"], "2026-01-01", OPUS_45),
  ...rows("anthropic", ["claude-opus-4-5"], "2025-11-24", OPUS_45),
  ...rows("anthropic", ["claude-opus-4-1"], "2025-08-05", OPUS_4),
  ...rows("anthropic", ["claude-opus-4", "claude-opus-4-0"], "2025-05-22", OPUS_4),
  ...rows("anthropic", ["claude-sonnet-5-5"], "2026-09-29", SONNET_5),
  ...rows("anthropic", ["claude-sonnet-5-5"], "2026-10-07", { ...SONNET_5, cachedInput: "0.10" }),
  ...rows("anthropic", ["claude-sonnet-5"], "2026-06-30", SONNET_5),
  ...rows("anthropic", ["claude-sonnet-4-6"], "2026-01-01", SONNET_4),
  ...rows("anthropic", ["claude-sonnet-4-5"], "2025-09-29", SONNET_4, SONNET_4_LONG),
  ...rows("anthropic", ["claude-sonnet-4", "claude-sonnet-4-0"], "2025-05-22", SONNET_4, SONNET_4_LONG),
  ...rows("anthropic", ["claude-3-7-sonnet"], "2025-02-24", SONNET_4),
  ...rows(
    "anthropic",
    ["claude-haiku-5-5"],
    "2026-10-07",
    { input: "0.10", cacheWriteInput: "0.125", cachedInput: "0.01", output: "0.50" },
    { aboveInputTokens: 100_000, input: "0.50", cacheWriteInput: "0.625", cachedInput: "0.05", output: "2.50" },
  ),
  ...rows("anthropic", ["claude-haiku-4-5"], "2025-10-15", { input: "1", cacheWriteInput: "1.25", cachedInput: "0.10", output: "5" }),
  ...rows("anthropic", ["claude-3-5-haiku"], "2024-10-22", { input: "0.80", cacheWriteInput: "1", cachedInput: "0.08", output: "4" }),
];

const GEMINI: PriceRowInput[] = [
  ...rows(
    "gemini",
    ["gemini-2.5-pro"],
    "2025-06-17",
    { input: "1.25", cachedInput: "0.125", output: "10.00" },
    { aboveInputTokens: 200_000, input: "2.50", cachedInput: "0.25", output: "15.00" },
  ),
  ...rows("gemini", ["gemini-2.5-flash"], "2025-06-17", { input: "0.30", cachedInput: "0.03", output: "2.50" }),
  ...rows("gemini", ["gemini-2.5-flash-lite"], "2025-07-22", { input: "0.10", cachedInput: "0.01", output: "0.40" }),
  ...rows("gemini", ["gemini-2.0-flash"], "2025-02-05", { input: "0.10", cachedInput: "0.025", output: "0.40" }),
  ...rows("gemini", ["gemini-2.0-flash-lite"], "2025-02-25", { input: "0.075", output: "0.30" }),
  ...rows("gemini", ["gemini-embedding-001"], "2025-07-14", { input: "0.15", output: "0" }),
];

/**
 * The built-in sandbox provider's nominal prices: small but non-zero, so a $1 budget in a demo
 * admits a few hundred calls and then visibly refuses.
 */
const SANDBOX: PriceRowInput[] = [
  ...rows("sandbox", ["sandbox-fast", "sandbox-flaky"], "2026-01-01", { input: "0.10", cachedInput: "0.025", output: "0.40" }),
  ...rows("sandbox", ["sandbox-smart"], "2026-01-01", { input: "1.00", cacheWriteInput: "1.25", cachedInput: "0.10", output: "4.00" }),
  ...rows("sandbox", ["sandbox-embed"], "2026-01-01", { input: "0.02", output: "0" }),
];

/**
 * The price table Switchboard ships with. Bump `version` whenever a row changes, and add a dated
 * row rather than editing a price in place, so usage already billed keeps its price.
 */
export const BUILTIN_PRICE_TABLE: PriceTable = Object.freeze({
  version: "builtin-2026-11-29",
  rows: Object.freeze([...OPENAI, ...ANTHROPIC, ...GEMINI, ...SANDBOX]),
});
