import { findViolations, nonOverlapping, type Finding } from "./evaluate.js";
import { redactSpans, type Placeholders } from "./placeholders.js";
import type { CompiledPolicy, GuardrailStageName } from "./policy.js";

/** Smallest window held back: longer than any PII value the detectors find. */
export const MIN_WINDOW_CHARS = 256;
/** Already-released text kept in front of the window, for word boundaries and context. */
const CONTEXT_CHARS = 64;

/** A step of the scanner: the text safe to send now, or the finding that must stop the stream. */
export type ScanStep = { text: string; blocked?: undefined } | { text: string; blocked: Finding };

/** Finds the violations in one text (the call's analyzer; default: in-process `findViolations`). */
export type FindViolations = (text: string) => Finding[] | Promise<Finding[]>;

/** A sliding-window scan of streamed text. Calls must not overlap: await each before the next. */
export interface StreamScanner {
  /** Adds a piece of the answer; resolves to what may be sent (possibly empty) or the block. */
  push(text: string): Promise<ScanStep>;
  /** At the end of the stream: the rest of the window, scanned and redacted. */
  flush(): Promise<ScanStep>;
  /** Everything seen so far, unredacted (for a final external check). */
  readonly seen: string;
}

/**
 * Creates the scanner of one streamed answer. Text is held back in a window of
 * `max(256, longest deny-listed phrase + 1)` characters and released only once no match could
 * still begin in it, so:
 * - a blocked phrase or value is never sent, even in part, whatever the chunking (a match no
 *   longer than the window is wholly inside it before any of it is released);
 * - a redacted value split across chunks is replaced whole (the release point never cuts a
 *   match in two).
 * The cost is a delay of one window of text, and a rescan of the window per chunk (linear
 * detectors, so O(window) per chunk).
 */
export function createStreamScanner(
  policies: readonly CompiledPolicy[],
  stage: GuardrailStageName,
  placeholders: Placeholders,
  find: FindViolations = (text) => findViolations(text, policies, stage),
): StreamScanner {
  const longestPhrase = policies
    .flatMap((p) => p.rules)
    .reduce((m, r) => Math.max(m, r.check.kind === "deny_list" ? r.check.list.longest : 0), 0);
  const window = Math.max(MIN_WINDOW_CHARS, longestPhrase + 1);
  let context = "";
  let pending = "";
  let seen = "";

  const step = async (final: boolean): Promise<ScanStep> => {
    const scanned = context + pending;
    const findings = (await find(scanned))
      .map((f) => ({ ...f, start: f.start - context.length, end: f.end - context.length }))
      .filter((f) => f.end > 0);
    findings.sort((a, b) => a.start - b.start);
    const blocked = findings.find((f) => f.action === "block");
    if (blocked !== undefined) return { text: "", blocked };
    let cut = final ? pending.length : Math.max(0, pending.length - window);
    const redactions = nonOverlapping(findings.filter((f) => f.action === "redact" && f.start >= 0));
    for (const r of redactions) if (r.start < cut && r.end > cut) cut = r.start;
    const ready = redactions.filter((r) => r.end <= cut);
    const text = redactSpans(pending.slice(0, cut), ready, placeholders);
    context = (context + pending.slice(0, cut)).slice(-CONTEXT_CHARS);
    pending = pending.slice(cut);
    return { text };
  };

  return {
    push(text) {
      pending += text;
      seen += text;
      return step(false);
    },
    flush() {
      return step(true);
    },
    get seen() {
      return seen;
    },
  };
}
