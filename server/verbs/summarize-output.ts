import { parseBullets } from "./bullets.js";
import type { SummarySpec } from "./summarize-instructions.js";

/** A summary in the response's shape. */
export interface ShapedSummary {
  /** The summary; for the bullet style, the bullets joined with newlines. */
  summary: string;
  /** The bullets (bullet style only). */
  bullets: string[];
}

/**
 * Whether `summary` says anything: holds a letter or a digit, in any script. A reply of markup
 * alone (`#`, `""`, `**`, `---`, `…`) is no summary, however the style cleans it.
 */
export function hasWords(summary: string): boolean {
  return /[\p{L}\p{N}]/u.test(summary);
}

function headline(reply: string): string {
  const line = reply.split(/\r?\n/).find((l) => l.trim() !== "") ?? "";
  return line
    .trim()
    .replace(/^#+\s*/, "")
    .replace(/^["“'‘](.*)["”'’]$/, "$1")
    .trim();
}

/**
 * Turns the model's final reply into the response's shape. Bullet style: the parsed bullets
 * (every non-empty line when the model wrote no list markers), cut to `bulletCount` when set.
 * Headline: the first non-empty line without Markdown heading marks or wrapping quotes.
 */
export function shapeSummary(reply: string, spec: SummarySpec): ShapedSummary {
  switch (spec.style ?? "paragraph") {
    case "bullets": {
      let bullets = parseBullets(reply);
      if (bullets.length === 0) bullets = reply.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== "");
      if (spec.bulletCount) bullets = bullets.slice(0, spec.bulletCount);
      return { summary: bullets.join("\n"), bullets };
    }
    case "headline":
      return { summary: headline(reply), bullets: [] };
    case "paragraph":
      return { summary: reply.trim(), bullets: [] };
  }
}
