import { describe, expect, it } from "vitest";
import { BUILTIN_PRICE_TABLE } from "./builtin-prices.js";
import { createPriceBook, usdPerMillion, type PriceTable } from "./price-table.js";

const NOW = new Date("2026-11-29T12:00:00Z");
const book = createPriceBook({ builtin: BUILTIN_PRICE_TABLE });
const modelOf = (provider: string, model: string): string | undefined => book.priceAt(provider, model, NOW)?.model;

describe("usdPerMillion", () => {
  it.each([
    ["2.50", 2_500_000],
    ["0.075", 75_000],
    ["0.0125", 12_500],
    ["15", 15_000_000],
    ["0", 0],
    ["0.000001", 1],
  ])("%s → %i micro-USD per million tokens", (text, micros) => {
    expect(usdPerMillion(text)).toBe(micros);
  });

  it.each(["", "1.", ".5", "-1", "1e3", "0.0000001", "$2"])("rejects %j", (text) => {
    expect(() => usdPerMillion(text)).toThrow(RangeError);
  });
});

describe("price lookup", () => {
  it("finds a dated snapshot's family by the longest prefix on a `-` boundary", () => {
    expect(modelOf("openai", "gpt-4o-2024-08-06")).toBe("gpt-4o");
    expect(modelOf("openai", "gpt-4o-mini-2024-07-18")).toBe("gpt-4o-mini");
    expect(modelOf("openai", "gpt-4.1-nano-2025-04-14")).toBe("gpt-4.1-nano");
    expect(modelOf("anthropic", "claude-sonnet-4-20250514")).toBe("claude-sonnet-4");
    expect(modelOf("anthropic", "claude-sonnet-4-5-20250929")).toBe("claude-sonnet-4-5");
    expect(modelOf("anthropic", "claude-3-5-haiku-latest")).toBe("claude-3-5-haiku");
    expect(modelOf("gemini", "gemini-2.0-flash-001")).toBe("gemini-2.0-flash");
    expect(modelOf("gemini", "gemini-2.5-flash-lite-preview-06-17")).toBe("gemini-2.5-flash-lite");
  });

  it("prefers a snapshot's own row over its family's", () => {
    const quote = book.priceAt("openai", "gpt-4o-2024-05-13", NOW);
    expect(quote?.model).toBe("gpt-4o-2024-05-13");
    expect(quote?.price.input).toBe(5_000_000);
  });

  it("leaves different models unpriced instead of lending them a sibling's price", () => {
    expect(book.priceAt("openai", "o3-pro", NOW)).toBeUndefined();
    expect(book.priceAt("openai", "gpt-4o-mini-search-preview", NOW)).toBeUndefined();
    expect(book.priceAt("anthropic", "claude-opus-4-9", NOW)).toBeUndefined();
    expect(book.priceAt("openai", "gpt-4", NOW)).toBeUndefined();
  });

  it("searches only the provider kind's own rows (no vendor borrows OpenAI's prices)", () => {
    expect(book.priceAt("azure", "gpt-4o", NOW)).toBeUndefined();
    expect(book.priceAt("openrouter", "gpt-4o", NOW)).toBeUndefined();
    expect(book.priceAt("anthropic", "gpt-4o", NOW)).toBeUndefined();
  });

  it("answers the same for a pair asked again, also after more pairs than it remembers", () => {
    const first = book.priceAt("openai", "gpt-4o-2024-08-06", NOW);
    for (let i = 0; i < 2_100; i++) expect(book.priceAt("openai", `no-such-model-${i}`, NOW)).toBeUndefined();
    expect(book.priceAt("openai", "gpt-4o-2024-08-06", NOW)).toEqual(first);
    expect(modelOf("openai", "gpt-4o-2024-08-06")).toBe("gpt-4o");
    expect(modelOf("groq", "gpt-4o-2024-08-06")).toBeUndefined();
  });

  it("takes the row in force at the call's time (o3's price cut of 2025-06-10)", () => {
    expect(book.priceAt("openai", "o3", new Date("2025-06-09T23:59:59Z"))?.price.input).toBe(10_000_000);
    expect(book.priceAt("openai", "o3", new Date("2025-06-10T00:00:00Z"))?.price.input).toBe(2_000_000);
    // A model's earliest row also covers anything before it.
    expect(book.priceAt("openai", "o3", new Date("2020-01-01T00:00:00Z"))?.price.input).toBe(10_000_000);
  });

  it("resolves defaults: cache reads and writes bill as input, reasoning as output", () => {
    const price = book.priceAt("gemini", "gemini-2.0-flash-lite", NOW)!.price;
    expect(price).toMatchObject({ input: 75_000, cachedInput: 75_000, cacheWriteInput: 75_000, output: 300_000, reasoning: 300_000 });
  });

  it("prices every built-in row sanely and finds each model under its own name", () => {
    for (const row of BUILTIN_PRICE_TABLE.rows) {
      const quote = book.priceAt(row.provider, row.model, new Date(row.effectiveFrom));
      expect(quote?.model, `${row.provider}/${row.model}`).toBe(row.model);
      const price = quote!.price;
      expect(price.cachedInput, `${row.model} cached ≤ input`).toBeLessThanOrEqual(price.input);
      expect(price.cacheWriteInput, `${row.model} cache write ≥ input`).toBeGreaterThanOrEqual(price.input);
      expect(price.input, `${row.model} input > 0`).toBeGreaterThan(0);
    }
    expect(BUILTIN_PRICE_TABLE.version).toMatch(/^builtin-\d{4}-\d{2}-\d{2}$/);
  });

  it("has the sandbox models a budget demo needs", () => {
    for (const model of ["sandbox-fast", "sandbox-smart", "sandbox-flaky", "sandbox-embed"]) {
      expect(book.priceAt("sandbox", model, NOW)?.price.input, model).toBeGreaterThan(0);
    }
  });
});

describe("admin overrides", () => {
  const overrides: PriceTable = {
    version: "admin-7",
    rows: [
      { provider: "openai", model: "gpt-4o", effectiveFrom: "2026-12-01", input: 2_000_000, output: 8_000_000 },
      { provider: "azure", model: "gpt-4o", effectiveFrom: "2026-01-01", input: 2_750_000, cachedInput: 1_375_000, output: 11_000_000 },
    ],
  };
  const overridden = createPriceBook({ builtin: BUILTIN_PRICE_TABLE, overrides });

  it("bumps the book's version", () => {
    expect(overridden.version).toBe(`${BUILTIN_PRICE_TABLE.version}+admin-7`);
  });

  it("replaces a model's price from its date on, and only from then", () => {
    const before = overridden.priceAt("openai", "gpt-4o-2024-08-06", new Date("2026-11-30T23:59:59Z"));
    const after = overridden.priceAt("openai", "gpt-4o-2024-08-06", new Date("2026-12-01T00:00:00Z"));
    expect(before).toMatchObject({ version: BUILTIN_PRICE_TABLE.version, price: { input: 2_500_000 } });
    expect(after).toMatchObject({ version: "admin-7", price: { input: 2_000_000, cachedInput: 2_000_000 } });
  });

  it("adds models for a vendor that has no built-in rows", () => {
    expect(overridden.priceAt("azure", "gpt-4o", NOW)).toMatchObject({ version: "admin-7", price: { cachedInput: 1_375_000 } });
  });

  it("names the offending path of a bad row", () => {
    const bad = (row: object): (() => unknown) => () =>
      createPriceBook({ builtin: BUILTIN_PRICE_TABLE, overrides: { version: "x", rows: [{ provider: "openai", model: "m", effectiveFrom: "2026-01-01", input: 1, output: 1, ...row }] } });
    expect(bad({ cachedInput: 1.5 })).toThrow("overrides.rows[0].cachedInput: must be a non-negative integer");
    expect(bad({ input: -1 })).toThrow("overrides.rows[0].input");
    expect(bad({ effectiveFrom: "soon" })).toThrow("overrides.rows[0].effectiveFrom: not a date");
    expect(bad({ longContext: { aboveInputTokens: 0, input: 1, output: 1 } })).toThrow("overrides.rows[0].longContext.aboveInputTokens");
    expect(() =>
      createPriceBook({
        builtin: { version: "b", rows: [] },
        overrides: {
          version: "x",
          rows: [
            { provider: "p", model: "m", effectiveFrom: "2026-01-01", input: 1, output: 1 },
            { provider: "p", model: "m", effectiveFrom: "2026-01-01T00:00:00Z", input: 2, output: 2 },
          ],
        },
      }),
    ).toThrow("overrides.rows[1]: duplicate row for p/m");
  });
});
