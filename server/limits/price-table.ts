/**
 * The versioned price table: what one million tokens of each kind cost on each (provider kind,
 * model), in integer micro-USD, from a given date. Money is integer micro-USD everywhere
 * (DESIGN.md), so rates are integers too: $2.50 per million tokens is 2_500_000.
 */

/** Integer micro-USD per million tokens, for every kind of token one call can be billed for. */
export interface TokenRates {
  /** Input tokens read neither from nor into the provider's prompt cache. */
  input: number;
  /** Visible output tokens. */
  output: number;
  /** Input tokens read from the prompt cache. */
  cachedInput: number;
  /** Input tokens written to the prompt cache (Anthropic bills these at a premium). */
  cacheWriteInput: number;
  /** Hidden reasoning (thinking) tokens; every provider today bills them as output. */
  reasoning: number;
}

/** A model's price, every default resolved. */
export interface ModelPrice extends TokenRates {
  /**
   * A second tier some models bill at when the prompt is long: a call whose input tokens (cached
   * and cache-written ones included) exceed `aboveInputTokens` pays `rates` for every token,
   * output included (Gemini 2.5 Pro above 200k, Claude Haiku 5.5 above 100k).
   */
  longContext?: { aboveInputTokens: number; rates: TokenRates };
}

/** Rates as authored: cached and cache-write input default to `input`, reasoning to `output`. */
export interface TokenRatesInput {
  input: number;
  output: number;
  cachedInput?: number;
  cacheWriteInput?: number;
  reasoning?: number;
}

/** One row as written in a table (the built-in one, or an admin's overrides). */
export interface PriceRowInput extends TokenRatesInput {
  /** Provider kind as the registry knows it (`openai`, `anthropic`, `gemini`, `groq`, `sandbox`, …). */
  provider: string;
  /** Model id, without a snapshot suffix: `gpt-4o` also prices `gpt-4o-2024-08-06`. */
  model: string;
  /** First instant the row applies (`2025-06-10` means midnight UTC). */
  effectiveFrom: string | Date;
  longContext?: TokenRatesInput & { aboveInputTokens: number };
}

/** A set of rows with the version every price taken from it is recorded under. */
export interface PriceTable {
  /** Stored with every usage record, so a bill can always be traced to the rates it used. */
  version: string;
  rows: readonly PriceRowInput[];
}

/** What {@link PriceBook.priceAt} answers. */
export interface PriceQuote {
  price: ModelPrice;
  /** Version of the table the row came from (the built-in table, or the overrides). */
  version: string;
  /** The row's model: the longest priced prefix of the model asked about. */
  model: string;
  effectiveFrom: Date;
}

/** The price table with overrides applied: the one place that turns a model into a price. */
export interface PriceBook {
  /** The built-in version, plus the override version when there are overrides. */
  readonly version: string;
  /**
   * The price of a call to `model` on `provider` made at `at`, or `undefined` when the model has
   * no price (callers decide: refuse under a cap, or a configured default; see `cost.ts`).
   *
   * Lookup: the model itself, then each shorter prefix ending at a `-`, as long as everything cut
   * off is a version tag (all digits of two or more, `latest`, `preview`, `exp`), so dated
   * snapshots (`gpt-4o-2024-08-06`, `claude-sonnet-4-20250514`, `gemini-2.0-flash-001`) find
   * their family while different models (`o3-pro`, `gpt-4o-mini-search-preview`,
   * `claude-opus-4-9`) stay unpriced instead of silently taking a cheaper sibling's price.
   * Only rows of `provider` itself are searched: an OpenAI-compatible vendor never borrows
   * OpenAI's prices.
   *
   * Dates: the latest row with `effectiveFrom ≤ at` wins (override rows before built-in ones);
   * a model's earliest row also covers any instant before it.
   */
  priceAt(provider: string, model: string, at: Date): PriceQuote | undefined;
}

/** Options of {@link createPriceBook}. */
export interface PriceBookOptions {
  builtin: PriceTable;
  /**
   * Admin rows. For its model, an override row takes over from its `effectiveFrom` on, whatever
   * the built-in rows say after that date; before it, the built-in rows still apply. So old usage
   * keeps the price it was billed at as long as overrides are only ever added with an
   * `effectiveFrom` that is not in the past (the admin API's job to enforce).
   */
  overrides?: PriceTable;
}

interface Row {
  effectiveFrom: number;
  price: ModelPrice;
  version: string;
  model: string;
}

/** Rows of one (provider, model), each source sorted by date. */
interface Timeline {
  builtin: Row[];
  overrides: Row[];
}

const VERSION_TAG = /^(\d{2,}|latest|preview|exp)$/;
/** (provider, model) lookups remembered at most (then forgotten all at once). */
const MAX_LOOKUPS = 1_024;

/**
 * Builds the price book, validating every row: a bad row throws `RangeError` naming its path
 * (`overrides.rows[2].cachedInput: …`), so a typo in admin config fails at start, not at billing.
 */
export function createPriceBook(opts: PriceBookOptions): PriceBook {
  const timelines = new Map<string, Timeline>();
  const add = (table: PriceTable, path: string, source: keyof Timeline): void => {
    if (table.version.trim() === "") throw new RangeError(`${path}.version: must not be empty`);
    const seen = new Set<string>();
    table.rows.forEach((input, index) => {
      const row = normalizeRow(input, `${path}.rows[${index}]`, table.version);
      const id = `${input.provider}\u0000${input.model}\u0000${row.effectiveFrom}`;
      if (seen.has(id)) {
        throw new RangeError(`${path}.rows[${index}]: duplicate row for ${input.provider}/${input.model} from ${new Date(row.effectiveFrom).toISOString()}`);
      }
      seen.add(id);
      const key = keyOf(input.provider, input.model);
      let timeline = timelines.get(key);
      if (timeline === undefined) {
        timeline = { builtin: [], overrides: [] };
        timelines.set(key, timeline);
      }
      timeline[source].push(row);
    });
  };
  add(opts.builtin, "builtin", "builtin");
  if (opts.overrides) add(opts.overrides, "overrides", "overrides");
  for (const timeline of timelines.values()) {
    timeline.builtin.sort(byDate);
    timeline.overrides.sort(byDate);
  }

  // The timelines that may price (provider, model), in lookup order: fixed once the book is
  // built, so worked out once per pair instead of splitting the model name on every call (the
  // book is asked several times per call). Bounded: model names come from providers' answers.
  const lookups = new Map<string, Timeline[]>();
  const timelinesFor = (provider: string, model: string): Timeline[] => {
    const key = keyOf(provider, model);
    let found = lookups.get(key);
    if (found === undefined) {
      found = [];
      for (const candidate of candidates(model)) {
        const timeline = timelines.get(keyOf(provider, candidate));
        if (timeline !== undefined) found.push(timeline);
      }
      if (lookups.size >= MAX_LOOKUPS) lookups.clear();
      lookups.set(key, found);
    }
    return found;
  };

  return {
    version: opts.overrides ? `${opts.builtin.version}+${opts.overrides.version}` : opts.builtin.version,
    priceAt(provider, model, at) {
      const when = at.getTime();
      for (const timeline of timelinesFor(provider, model)) {
        const row = latestAt(timeline.overrides, when) ?? latestAt(timeline.builtin, when) ?? timeline.builtin[0] ?? timeline.overrides[0];
        if (row === undefined) continue;
        return { price: row.price, version: row.version, model: row.model, effectiveFrom: new Date(row.effectiveFrom) };
      }
      return undefined;
    },
  };
}

/** The model, then each shorter `-` prefix whose cut-off tail is all version tags. */
function candidates(model: string): string[] {
  const out = [model];
  const parts = model.split("-");
  for (let end = parts.length - 1; end > 0; end--) {
    if (!VERSION_TAG.test(parts[end]!)) break;
    out.push(parts.slice(0, end).join("-"));
  }
  return out;
}

/** The row in force at `when` (rows sorted by date), or undefined when `when` precedes them all. */
function latestAt(rows: readonly Row[], when: number): Row | undefined {
  let found: Row | undefined;
  for (const row of rows) {
    if (row.effectiveFrom > when) break;
    found = row;
  }
  return found;
}

function normalizeRow(input: PriceRowInput, path: string, version: string): Row {
  if (input.provider === "") throw new RangeError(`${path}.provider: must not be empty`);
  if (input.model === "") throw new RangeError(`${path}.model: must not be empty`);
  const effectiveFrom = input.effectiveFrom instanceof Date ? input.effectiveFrom.getTime() : Date.parse(input.effectiveFrom);
  if (!Number.isFinite(effectiveFrom)) {
    throw new RangeError(`${path}.effectiveFrom: not a date: ${String(input.effectiveFrom)}`);
  }
  const price: ModelPrice = resolveRates(input, path);
  if (input.longContext) {
    const { aboveInputTokens } = input.longContext;
    if (!Number.isSafeInteger(aboveInputTokens) || aboveInputTokens <= 0) {
      throw new RangeError(`${path}.longContext.aboveInputTokens: must be a positive integer, got ${aboveInputTokens}`);
    }
    price.longContext = { aboveInputTokens, rates: resolveRates(input.longContext, `${path}.longContext`) };
  }
  return { effectiveFrom, price, version, model: input.model };
}

function resolveRates(input: TokenRatesInput, path: string): TokenRates {
  const rates = {
    input: input.input,
    output: input.output,
    cachedInput: input.cachedInput ?? input.input,
    cacheWriteInput: input.cacheWriteInput ?? input.input,
    reasoning: input.reasoning ?? input.output,
  };
  for (const [field, value] of Object.entries(rates)) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`${path}.${field}: must be a non-negative integer (micro-USD per million tokens), got ${value}`);
    }
  }
  return rates;
}

const keyOf = (provider: string, model: string): string => `${provider}\u0000${model}`;
const byDate = (a: Row, b: Row): number => a.effectiveFrom - b.effectiveFrom;

/**
 * A decimal USD-per-million-tokens figure as printed on a pricing page (`"2.50"`, `"0.075"`)
 * → integer micro-USD per million tokens, parsed from the text so no binary float is ever
 * involved. More than six decimals (below one micro-USD per million tokens) throw.
 */
export function usdPerMillion(text: string): number {
  const match = /^(\d+)(?:\.(\d{1,6}))?$/.exec(text);
  if (match === null) throw new RangeError(`not a USD amount with at most 6 decimals: "${text}"`);
  const micros = Number(match[1]) * 1_000_000 + Number((match[2] ?? "").padEnd(6, "0"));
  if (!Number.isSafeInteger(micros)) throw new RangeError(`USD amount too large: "${text}"`);
  return micros;
}
