import type { Mutable } from "../mutable.js";
import { isInertText } from "./deny-list-text.js";
import { findViolations, nonOverlapping, type Finding } from "./evaluate.js";
import { redactSpans, type Placeholders } from "./placeholders.js";
import type { CompiledPolicy, GuardrailStageName } from "./policy.js";
import { isHighSurrogate, isLowSurrogate } from "../surrogates.js";

/** Smallest window held back: longer than any PII value the detectors find. */
export const MIN_WINDOW_CHARS = 256;
/** Already-released text kept in front of the window, for word boundaries and context. */
const CONTEXT_CHARS = 64;
/**
 * Longest run of token characters held back whole beyond the window: 8 KiB, the default limit on
 * one request header line of Apache and nginx, so more than a bearer token that works with them.
 * A run past it is released as the window releases prose, so a longer token can be sent in part
 * before it is seen whole; holding more would delay and rescan ever larger texts for no key in use.
 */
export const MAX_HELD_RUN_CHARS = 8192;

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
 * Creates the scanner of one streamed answer. Text is held back only as long as a match could
 * still begin in it, then released:
 * - when every in-process rule that applies at `stage` is a deny list (external rules check the
 *   whole answer after it ended, so they never need text held back), exactly the tail that may still grow
 *   into a listed phrase is held back (`DenyList.pendingStart`: the automaton's current state,
 *   in text characters), so text that ends in no phrase prefix is sent at once, however long a
 *   whitespace run makes a match;
 * - otherwise (PII, regex, injection — any other in-process rule at `stage`) a window of
 *   `max(256, longest deny-listed phrase + 1)` characters is held back, and, further, the run of
 *   token characters the text so far ends in (see {@link isTokenChar}), up to
 *   {@link MAX_HELD_RUN_CHARS}: the detectors' keys, JWTs and emails have no upper length and no
 *   whitespace, so one is seen whole, as the unary check sees it, before any of it is released,
 *   while prose (a run ended by a space every few characters) is released as the window alone
 *   would. A match longer than the window that crosses a non-token character (a phrase with a
 *   long whitespace run or many ignorables or marks in it — the window counts text characters, a
 *   phrase's length normalised units — a regex over several words) could begin in text already
 *   released.
 * Either way:
 * - a blocked phrase or value is never sent, even in part, whatever the chunking;
 * - a redacted value split across chunks is replaced whole (the release point never cuts a
 *   match in two).
 * The cost is a delay of what is held back, and a rescan of it per chunk (linear detectors, so
 * O(held-back text) per chunk). With deny lists only, whitespace, default-ignorable code points and
 * combining marks can stretch a phrase in progress without bound ("launch" and then thousands of
 * spaces or zero-width spaces: deny lists read through them), so a chunk of them alone is held
 * without a scan: it moves no release point (`isInertText`), so a scan would release nothing, and
 * what it may decide (a word boundary, an accented phrase's mark) is decided by the next scan,
 * while rescanning the growing run per chunk would cost quadratic time. Likewise with
 * the window, a chunk that only extends a held run which is all that is held back releases
 * nothing, so it waits without a scan: the run is scanned once, when it ends (a block in it then
 * stops the stream a few chunks later than a scan per chunk would, having sent nothing more). And a
 * redacted match longer than the window still growing at the end (a PEM block before its footer,
 * which its detector bounds to 16 KiB) is rescanned only as the held text grows by half.
 */
export function createStreamScanner(
  policies: readonly CompiledPolicy[],
  stage: GuardrailStageName,
  placeholders: Placeholders,
  find: FindViolations = (text) => findViolations(text, policies, stage),
): StreamScanner {
  const release = releasePointOf(policies, stage);
  let context = "";
  let pending = "";
  /** Length of the run of token characters `seen` ends in (some of it released once past the bound). */
  let run = 0;
  /** The length `pending` must reach before the next scan, while an open match holds it back (0: none). */
  let rescanAt = 0;

  const step = async (final: boolean): Promise<ScanStep> => {
    const scanned = context + pending;
    const findings = (await find(scanned))
      .map((f) => ({ ...f, start: f.start - context.length, end: f.end - context.length }))
      .filter((f) => f.end > 0);
    findings.sort((a, b) => a.start - b.start);
    let cut = final ? pending.length : release.cut(context, pending, run);
    // A block whose match reaches the end of the text so far may still come apart: the next
    // chunk can carry it past its word boundary ("launch codes" + "x") or out of a value's
    // pattern, and the whole answer checked at once would pass. While such a match is wholly
    // held back it waits for that chunk (or the end); one reaching into released text blocks now.
    // A high surrogate ending the text so far is not a character yet (with its pair it may be a
    // letter that carries a phrase past its word boundary): the text so far ends before it.
    const end = !final && isHighSurrogate(pending.charCodeAt(pending.length - 1)) ? pending.length - 1 : pending.length;
    const blocked = findings.find((f) => f.action === "block" && (final || f.end < end || f.start < cut));
    if (blocked !== undefined) return { text: "", blocked };
    const redactions = nonOverlapping(findings.filter((f) => f.action === "redact" && f.start >= 0));
    // A redacted match that reaches the end of the text so far and begins before the release point
    // is still open (a PEM block whose footer has not come): it holds back more than the release
    // point would, from its start, and each rescan of it finds it longer. So it is rescanned only
    // once the held text has grown by half (at least a window): each character is scanned a few
    // times in all rather than once per chunk, at the cost of a delay of up to half the held text
    // after the match ends. Waiting unscanned is as if the chunks had come as one.
    const open = !final && redactions.some((r) => r.start < cut && r.end >= end);
    for (const r of redactions) if (r.start < cut && r.end > cut) cut = r.start;
    // Never between the halves of a surrogate pair: each piece sent must be well-formed UTF-16
    // (protobuf and UTF-8 writers turn a lone half into U+FFFD).
    if (cut > 0 && cut < pending.length && isHighSurrogate(pending.charCodeAt(cut - 1)) && isLowSurrogate(pending.charCodeAt(cut))) cut--;
    const ready = redactions.filter((r) => r.end <= cut);
    const text = redactSpans(pending.slice(0, cut), ready, placeholders);
    context = (context + pending.slice(0, cut)).slice(-CONTEXT_CHARS);
    pending = pending.slice(cut);
    rescanAt = open ? pending.length + Math.max(MIN_WINDOW_CHARS, Math.ceil(pending.length / 2)) : 0;
    return { text };
  };

  // `seen` is a data property `push` extends, not a getter (see `Mutable`).
  const scanner: Mutable<StreamScanner> = {
    seen: "",
    push(text) {
      pending += text;
      scanner.seen += text;
      run = runAfter(run, text);
      if (pending.length < rescanAt || release.waits(text, pending, run)) return Promise.resolve({ text: "" });
      return step(false);
    },
    flush() {
      return step(true);
    },
  };
  return scanner;
}

/**
 * The characters of the values with no upper length the detectors find: API keys and tokens
 * (`[A-Za-z0-9_-]`, `.` between a JWT's parts, base64's `+/=`) and emails (`.%+-@`). Whitespace,
 * quotes, brackets, `:`, `,` and non-ASCII letters end a run, so JSON, code and CJK prose are not
 * held back longer than the window; values with a space or `:` in them (cards, phones, IPv6) are
 * short enough for the window.
 */
const TOKEN_CHARS = (() => {
  const table = new Uint8Array(128);
  for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.+/=%@") table[c.charCodeAt(0)] = 1;
  return table;
})();

/** Whether the UTF-16 code `c` can be part of a token-shaped value. */
function isTokenChar(c: number): boolean {
  return c < 128 && TOKEN_CHARS[c] === 1;
}

/** The length of the token run a text ending in a run of `run` ends in after `chunk` is appended: O(the chunk's own run). */
function runAfter(run: number, chunk: string): number {
  let i = chunk.length;
  while (i > 0 && isTokenChar(chunk.charCodeAt(i - 1))) i--;
  return i === 0 ? run + chunk.length : chunk.length - i;
}

/** How a scanner releases text. */
interface ReleasePoint {
  /**
   * Where a step may cut `pending` (the text after the released `context`, ending in a token run
   * of `run` characters) without releasing text a match could still begin in.
   */
  cut(context: string, pending: string, run: number): number;
  /** Whether the push of `chunk` can release nothing a scan would, so it waits for the next one unscanned. */
  waits(chunk: string, pending: string, run: number): boolean;
}

/** The release point of the rules of `policies` at `stage`: a deny list's phrase in progress, or the fixed window. */
function releasePointOf(policies: readonly CompiledPolicy[], stage: GuardrailStageName): ReleasePoint {
  const rules = policies.flatMap((p) => p.rules);
  // External rules see the whole answer only once it has ended (the output stage runs them after
  // the last release), so holding text back protects nothing from them: they do not count.
  const applying = rules.filter((r) => r.stages.has(stage) && r.check.kind !== "external");
  const lists = applying.flatMap((r) => (r.check.kind === "deny_list" ? [r.check.list] : []));
  if (lists.length === applying.length) {
    return {
      // A chunk of whitespace, ignorables or marks alone moves no deny list's release point.
      waits: (chunk) => isInertText(chunk),
      cut(context, pending) {
        const scanned = context + pending;
        const start = lists.reduce((m, list) => Math.min(m, list.pendingStart(scanned)), scanned.length);
        return Math.max(0, start - context.length);
      },
    };
  }
  const longestPhrase = rules.reduce((m, r) => Math.max(m, r.check.kind === "deny_list" ? r.check.list.longest : 0), 0);
  const window = Math.max(MIN_WINDOW_CHARS, longestPhrase + 1);
  const held = (run: number) => run <= MAX_HELD_RUN_CHARS;
  return {
    // The held run is all of `pending`: the cut stays at 0 until the run ends.
    waits: (_chunk, pending, run) => held(run) && run >= pending.length,
    cut: (_context, pending, run) => Math.max(0, Math.min(pending.length - window, held(run) ? pending.length - run : pending.length)),
  };
}
