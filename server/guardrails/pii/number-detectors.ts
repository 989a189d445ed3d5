import { cardNumberValid, ibanLength, ibanValid, ssnValid } from "./checksums.js";
import { matchAll, type PiiDetector, type PiiSpan } from "./pii-types.js";

/*
 * Detectors of numbers that identify a person or an account. Each finds candidates with a
 * linear-time pattern (no nested or overlapping quantifiers) and keeps only those that pass
 * their validity rule, so look-alikes with a wrong checksum are not redacted (P22 precision).
 * Patterns are built per call: a global RegExp carries `lastIndex`, which must not be shared.
 */

/**
 * Payment cards: 13–19 digits, optionally in groups split by single spaces or dashes; Luhn +
 * issuer prefix. A candidate that is not a card whole is cut back group by group, so a card
 * followed by more digits (`4111 1111 1111 1111 09/27`, a CVV) is still found.
 */
export const detectCards: PiiDetector = (text) => {
  const out: PiiSpan[] = [];
  // Not glued to letters either: digits inside an alphanumeric token (an IBAN's account part,
  // a reference code) are not a card.
  const pattern = /(?<![\w.,-])\d(?:[ -]?\d){12,18}(?![\w]|[.,-]\d)/g;
  for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) {
    // Ends to try: the whole candidate, then before each separator, longest first. A printed
    // card has 13+ digits and at most 4 separators, so shorter or busier prefixes are skipped.
    const ends = [m[0].length];
    for (let i = m[0].length - 1; i > 0; i--) if (m[0][i] === " " || m[0][i] === "-") ends.push(i);
    let separatorsLeft = ends.length - 1;
    for (const [k, end] of ends.entries()) {
      if (k > 0) separatorsLeft--;
      if (end - separatorsLeft < 13) break;
      if (separatorsLeft > 4 || !isCard(text, m.index, m[0].slice(0, end))) continue;
      out.push({ entity: "CREDIT_CARD", start: m.index, end: m.index + end });
      break;
    }
  }
  return out;
};

/** Whether `candidate`, starting at `start` in `text`, is a card number as printed. */
function isCard(text: string, start: number, candidate: string): boolean {
  const separators = candidate.match(/[ -]/g)?.length ?? 0;
  const digits = candidate.replace(/[ -]/g, "");
  // Separated numbers must be grouped like cards (groups of 4, or Amex 4-6-5), not any digits.
  const grouped = /^\d{4}([ -])(?:\d{4}\1\d{4}\1\d{4}(?:\1\d{1,3})?|\d{6}\1\d{4,5}|\d{4}\1\d{4}\1\d)$/.exec(candidate);
  if (separators > 0 && grouped === null) return false;
  // Groups that continue a grouped code with digits before them (`PT66 5734 5648 …`, an IBAN)
  // belong to that code.
  if (grouped !== null && text[start - 1] === grouped[1] && /\d[A-Za-z0-9]*$/.test(text.slice(Math.max(0, start - 8), start - 1))) return false;
  return cardNumberValid(digits);
}

/**
 * IBANs, compact or printed in groups of four. The candidate is cut at its country's length
 * (so a word that follows a printed IBAN is not swallowed), then the length and mod-97 check.
 */
export const detectIbans: PiiDetector = (text) => {
  const out: PiiSpan[] = [];
  const pattern = /(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?/g;
  for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) {
    const length = ibanLength(m[0].slice(0, 2));
    if (length === undefined) continue;
    let compact = 0;
    let end = m.index;
    while (end < m.index + m[0].length && compact < length) {
      if (text[end] !== " ") compact++;
      end++;
    }
    if (compact !== length || /[A-Za-z0-9]/.test(text[end] ?? "")) continue;
    if (ibanValid(text.slice(m.index, end).replace(/ /g, ""))) out.push({ entity: "IBAN", start: m.index, end });
    pattern.lastIndex = end;
  }
  return out;
};

/**
 * US social security numbers written `AAA-GG-SSSS` or `AAA GG SSSS`, or nine bare digits when
 * "ssn" or "social security" appears just before; the SSA's validity rules applied.
 */
export const detectSsns: PiiDetector = (text) => [
  ...matchAll(text, /(?<![\d-])(\d{3})([- ])(\d{2})\2(\d{4})(?![\d]|-\d)/g, "US_SSN", (m) => ssnValid(m[1]!, m[3]!, m[4]!)),
  ...matchAll(text, /(?<!\d)(\d{3})(\d{2})(\d{4})(?!\d)/g, "US_SSN", (m) => {
    const before = text.slice(Math.max(0, m.index - 32), m.index).toLowerCase();
    return /\b(ssn|social security)(\s+(number|no\.?|#))?\s*[:#]?\s*$/.test(before) && ssnValid(m[1]!, m[2]!, m[3]!);
  }),
];

/**
 * Phone numbers in the forms people write them: international (`+` and 8–15 digits), North
 * American (`(415) 555-0134`, `415-555-0134`, `415.555.0134`, with an optional leading `1`; area
 * and exchange codes start with 2–9), and national numbers with a trunk `0` printed in groups,
 * the area code optionally in parentheses (`020 7946 0958`, `030 12345678`, `(02) 9876 5432`).
 * Bare digit runs are not phones (order numbers, ids).
 */
export const detectPhones: PiiDetector = (text) => [
  ...matchAll(text, /(?<![\w+])\+\d[\d .()-]{6,22}\d(?![\w-]|\.\d)/g, "PHONE", (m) => {
    const digits = m[0].replace(/\D/g, "").length;
    // One separator between digit groups at most, and parentheses only around a group.
    return digits >= 8 && digits <= 15 && !/[ .-]{2}|\([^\d]|\d\(/.test(m[0]);
  }),
  ...matchAll(text, /(?<![\w+.-])(?:1[ .-]?)?(?:\([2-9]\d{2}\) ?|[2-9]\d{2}([ .-]))[2-9]\d{2}[ .-]\d{4}(?![\w]|[.-]\d)/g, "PHONE", (m) => {
    // 415-555-0134 and 415.555.0134 keep one separator throughout; (415) 555-0134 any.
    const sep = m[1];
    return sep === undefined || m[0].replace(/^1[ .-]?/, "").split(sep).length === 3;
  }),
  ...matchAll(text, /(?<![\w+.-])(?:0\d{1,4}|\(0\d{1,4}\))(?:[ -]\d{2,8}){1,4}(?![\w]|[.-]\d)/g, "PHONE", (m) => {
    const digits = m[0].replace(/\D/g, "").length;
    // Groups that continue a longer grouped run (`… 9276 0575 7636 40`, an account number) are
    // part of that run, not a phone.
    return digits >= 10 && digits <= 11 && !/\d[ -]$/.test(text.slice(Math.max(0, m.index - 2), m.index));
  }),
];
