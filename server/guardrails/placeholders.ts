import type { Mutable } from "../mutable.js";

/** A span of text to replace, with the category its placeholder names. */
export interface RedactionSpan {
  start: number;
  end: number;
  /** Uppercase category (`EMAIL`, `CREDIT_CARD`, `DENY_LIST`, a regex rule's category). */
  category: string;
}

/**
 * The placeholders of one model call: the same value always gets the same placeholder
 * (`[EMAIL_1]` twice for one address, `[EMAIL_2]` for another), so the model can still tell
 * values apart and refer to them, and the answer can be restored for the caller.
 */
export interface Placeholders {
  /**
   * The placeholder of `value` in `category`, made on first use. `restorable` (the rule asked to
   * restore values in the response) marks it for {@link Placeholders.restore}; once marked, it stays.
   */
  placeholderFor(category: string, value: string, restorable?: boolean): string;
  /** How many values have placeholders. */
  readonly size: number;
  /** Whether any placeholder is restorable. */
  readonly restoring: boolean;
  /**
   * `text` with every restorable placeholder put back. With `json`, values are JSON-string
   * escaped, for answers that are JSON (a structured output, tool arguments).
   */
  restore(text: string, opts?: { json?: boolean }): string;
  /** The longest placeholder made so far (what a streamed restore must hold back). */
  readonly longest: number;
}

/** Creates the placeholder registry of one call. */
export function createPlaceholders(): Placeholders {
  const byValue = new Map<string, string>();
  const byPlaceholder = new Map<string, { value: string; restorable: boolean }>();
  const counters = new Map<string, number>();
  // `size`, `longest` and `restoring` are data properties kept up to date, not getters (see `Mutable`).
  const registry: Mutable<Placeholders> = {
    size: 0,
    longest: 0,
    restoring: false,
    placeholderFor(category, value, restorable = false) {
      const key = `${category}\u0000${value}`;
      let placeholder = byValue.get(key);
      if (placeholder === undefined) {
        const n = (counters.get(category) ?? 0) + 1;
        counters.set(category, n);
        placeholder = `[${category}_${n}]`;
        byValue.set(key, placeholder);
        byPlaceholder.set(placeholder, { value, restorable });
        registry.size = byPlaceholder.size;
        registry.longest = Math.max(registry.longest, placeholder.length);
      } else if (restorable) {
        byPlaceholder.get(placeholder)!.restorable = true;
      }
      if (restorable) registry.restoring = true;
      return placeholder;
    },
    restore(text, opts = {}) {
      if (!registry.restoring) return text;
      return text.replace(/\[[A-Z][A-Z0-9_]*_\d+\]/g, (p) => {
        const entry = byPlaceholder.get(p);
        if (entry === undefined || !entry.restorable) return p;
        return opts.json === true ? JSON.stringify(entry.value).slice(1, -1) : entry.value;
      });
    },
  };
  return registry;
}

/** `text` with each span (non-overlapping, any order) replaced by its placeholder. */
export function redactSpans(text: string, spans: readonly (RedactionSpan & { restorable?: boolean })[], placeholders: Placeholders): string {
  if (spans.length === 0) return text;
  const ordered = [...spans].sort((a, b) => a.start - b.start);
  let out = "";
  let at = 0;
  for (const span of ordered) {
    if (span.start < at) continue;
    out += text.slice(at, span.start) + placeholders.placeholderFor(span.category, text.slice(span.start, span.end), span.restorable);
    at = span.end;
  }
  return out + text.slice(at);
}

/**
 * Restores placeholders in a stream of text pieces: a piece that ends inside what may be a
 * placeholder (`[EMA`) is held back until the next piece completes or refutes it.
 */
export function createStreamRestorer(placeholders: Placeholders, opts: { json?: boolean } = {}): { push(text: string): string; flush(): string } {
  let pending = "";
  return {
    push(text) {
      pending += text;
      const open = pending.lastIndexOf("[");
      let cut = pending.length;
      if (open !== -1 && pending.length - open <= placeholders.longest && /^\[[A-Z0-9_]*$/.test(pending.slice(open))) cut = open;
      const ready = pending.slice(0, cut);
      pending = pending.slice(cut);
      return placeholders.restore(ready, opts);
    },
    flush() {
      const rest = placeholders.restore(pending, opts);
      pending = "";
      return rest;
    },
  };
}
