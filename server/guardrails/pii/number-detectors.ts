import { cardNumberValid, ibanLength, ibanValid, ssnValid } from "./checksums.js";
import { matchAll, type PiiDetector, type PiiSpan } from "./pii-types.js";

/*
 * Detectors of numbers that identify a person or an account. Each finds candidates with a
 * linear-time pattern (no nested or overlapping quantifiers) and keeps only those that pass
 * their validity rule, so look-alikes with a wrong checksum are not redacted (P22 precision).
 * Patterns are built per call: a global RegExp carries `lastIndex`, which must not be shared.
 */

/** Payment cards: 13–19 digits, optionally in groups split by single spaces or dashes; Luhn + issuer prefix. */
export const detectCards: PiiDetector = (text) =>
  matchAll(text, /(?<![\d.,-])\d(?:[ -]?\d){12,18}(?![\d]|[.,-]\d)/g, "CREDIT_CARD", (m) => {
    const separators = m[0].match(/[ -]/g)?.length ?? 0;
    const digits = m[0].replace(/[ -]/g, "");
    // Separated numbers must be grouped like cards (groups of 4, or Amex 4-6-5), not any digits.
    if (separators > 0 && !/^\d{4}([ -])(?:\d{4}\1\d{4}\1\d{4}(?:\1\d{1,3})?|\d{6}\1\d{4,5}|\d{4}\1\d{4}\1\d)$/.test(m[0])) return false;
    return cardNumberValid(digits);
  });

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
 * and exchange codes start with 2–9), and national numbers with a trunk `0` printed in groups
 * (`020 7946 0958`, `030 12345678`). Bare digit runs are not phones (order numbers, ids).
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
  ...matchAll(text, /(?<![\w+.-])0\d{1,4}(?:[ -]\d{2,8}){1,4}(?![\w]|[.-]\d)/g, "PHONE", (m) => {
    const digits = m[0].replace(/\D/g, "").length;
    return digits >= 10 && digits <= 11;
  }),
];
