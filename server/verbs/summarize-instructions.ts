/**
 * The request-specific requirements Summarize hands its template as `{{requirements}}`, one
 * "- " line each, and the output-token reserves it sizes its calls with. Pure functions of the
 * request, so the prompt for any call of a map-reduce can be shown and tested on its own.
 */

/** The form of a summary. */
export type SummaryStyle = "paragraph" | "bullets" | "headline";

/** What shapes a summary (the request minus its text). */
export interface SummarySpec {
  style?: SummaryStyle;
  /** Target length in words (paragraph and headline styles); 0 or absent: the model decides. */
  maxWords?: number;
  /** Number of bullets (bullet style); 0 or absent: the model decides. */
  bulletCount?: number;
  /** What the summary should focus on. */
  focus?: string;
  /** BCP-47 tag of the summary's language; empty: the input's. */
  language?: string;
}

/** Default bullets when the request does not say. */
const DEFAULT_BULLETS = "3 to 7";

function styleLine(spec: SummarySpec): string {
  const words = spec.maxWords ?? 0;
  switch (spec.style ?? "paragraph") {
    case "headline":
      return `- Write a single headline${words > 0 ? ` of at most ${words} words` : ""}, on one line, without quotation marks or a final period.`;
    case "bullets": {
      const count = spec.bulletCount ?? 0;
      return `- Write a bullet list of ${count > 0 ? `exactly ${count}` : DEFAULT_BULLETS} bullets. Put each bullet on its own line starting with "- ", one point per bullet, no nested bullets, and no text before or after the list.`;
    }
    case "paragraph":
      return words > 0
        ? `- Write prose in one or more short paragraphs, at most ${words} words in total.`
        : "- Write prose in one or more short paragraphs, as short as the content allows: a few sentences for a short text, more only when the text has more to say.";
  }
}

function commonLines(spec: SummarySpec): string[] {
  const lines: string[] = [];
  const focus = spec.focus?.trim() ?? "";
  if (focus !== "") lines.push(`- Focus on: ${focus}`);
  const language = spec.language?.trim() ?? "";
  lines.push(language !== "" ? `- Write in the language with the BCP-47 tag "${language}".` : "- Write in the language of the text.");
  return lines;
}

/** Requirements of a single-call summary. */
export function finalRequirements(spec: SummarySpec): string {
  return [styleLine(spec), ...commonLines(spec)].join("\n");
}

/** Requirements of the map call for part `part` of `parts`. */
export function partRequirements(spec: SummarySpec, part: number, parts: number, maxWords: number): string {
  return [
    `- This text is part ${part} of ${parts} of a longer document. Summarize this part on its own in at most ${maxWords} words of plain prose, keeping every point a summary of the whole document could need (facts, names, numbers, decisions). It will be merged with the summaries of the other parts.`,
    ...commonLines(spec),
  ].join("\n");
}

/** Requirements of the final combine call over `parts` partial summaries. */
export function combineRequirements(spec: SummarySpec, parts: number): string {
  return [
    `- The text consists of summaries of ${parts} consecutive parts of one longer document, in order. Merge them into one summary of the whole document; remove repetition and do not mention the parts.`,
    styleLine(spec),
    ...commonLines(spec),
  ].join("\n");
}

/** Requirements of an intermediate combine call (partials still too long for one call). */
export function regroupRequirements(spec: SummarySpec, maxWords: number): string {
  return [
    `- The text consists of summaries of consecutive parts of one longer document, in order. Merge them into one summary of these parts in at most ${maxWords} words of plain prose, keeping every point a summary of the whole document could need; do not mention the parts.`,
    ...commonLines(spec),
  ].join("\n");
}

/** Output tokens to reserve for the final summary: generous for the requested length. */
export function finalOutputTokens(spec: SummarySpec): number {
  const words = spec.maxWords ?? 0;
  switch (spec.style ?? "paragraph") {
    case "headline":
      return words > 0 ? words * 2 + 16 : 64;
    case "bullets":
      return (spec.bulletCount || 7) * 64 + 64;
    case "paragraph":
      return words > 0 ? Math.ceil(words * 1.5) + 64 : 1024;
  }
}

/** Output tokens of a partial summary: an eighth of the context, within [128, 1024]. */
export function partOutputTokens(contextTokens: number): number {
  return Math.max(128, Math.min(1024, Math.floor(contextTokens / 8)));
}

/** Words a partial summary may use to stay well inside its token reserve. */
export function partWords(outputTokens: number): number {
  return Math.max(32, Math.floor(outputTokens * 0.6));
}

/** The template variables besides `text` and `requirements` (for custom templates). */
export function specVariables(spec: SummarySpec): Record<string, string> {
  return {
    style: spec.style ?? "paragraph",
    max_words: spec.maxWords ? String(spec.maxWords) : "",
    bullet_count: spec.bulletCount ? String(spec.bulletCount) : "",
    focus: spec.focus ?? "",
    language: spec.language ?? "",
  };
}
