/** The kinds of personal and secret data the detector finds (the proto's `PiiEntity`). */
export type PiiEntityName = "EMAIL" | "PHONE" | "CREDIT_CARD" | "IBAN" | "US_SSN" | "IP_ADDRESS" | "SECRET";

/** Every entity kind, in the order overlapping matches are preferred (first wins a tie). */
export const PII_ENTITIES: readonly PiiEntityName[] = ["SECRET", "CREDIT_CARD", "IBAN", "US_SSN", "EMAIL", "IP_ADDRESS", "PHONE"];

/** One detected span: `text.slice(start, end)` is the value. */
export interface PiiSpan {
  entity: PiiEntityName;
  /** UTF-16 offsets. */
  start: number;
  end: number;
}

/** A detector: every candidate span of its kind in `text`, validated. Pure and linear-time. */
export type PiiDetector = (text: string) => PiiSpan[];

/** Runs `pattern` (global, sticky-free) over `text` and keeps the matches `accept` validates. */
export function matchAll(text: string, pattern: RegExp, entity: PiiEntityName, accept: (match: RegExpExecArray) => boolean): PiiSpan[] {
  const out: PiiSpan[] = [];
  pattern.lastIndex = 0;
  for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) {
    if (m[0].length === 0) {
      pattern.lastIndex++;
      continue;
    }
    if (accept(m)) out.push({ entity, start: m.index, end: m.index + m[0].length });
  }
  return out;
}
