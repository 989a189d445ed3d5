import type { CorpusRandom } from "./corpus-random.js";

/*
 * Value generators of the synthetic PII corpus (numbers: cards, IBANs, SSNs, phones; text kinds
 * are in `corpus-text-values.ts`), one valid and one near-miss generator per kind.
 * They build values by the issuers' rules (check digits computed here, independently of the
 * detectors' validators), in the forms people write them, so the corpus measures the detectors
 * instead of mirroring them.
 */

/** A generated value: the text to embed and, for a real value, what of it is labelled. */
export interface CorpusValue {
  text: string;
  /** Offsets of the labelled part within `text` (default: all of it). Absent for near misses. */
  label?: { start: number; end: number };
}

/** A generator of one kind of value. */
export type ValueGenerator = (r: CorpusRandom) => CorpusValue;

/** A value labelled whole. */
export const whole = (text: string): CorpusValue => ({ text, label: { start: 0, end: text.length } });
/** A near miss: nothing labelled. */
export const plain = (text: string): CorpusValue => ({ text });

// ---------- payment cards ----------

/** The Luhn check digit that completes `body`. */
function luhnDigit(body: string): number {
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    let d = body.charCodeAt(body.length - 1 - i) - 48;
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return (10 - (sum % 10)) % 10;
}

const ISSUERS: ReadonlyArray<{ prefix: (r: CorpusRandom) => string; length: number; weight: number }> = [
  { prefix: () => "4", length: 16, weight: 30 }, // Visa
  { prefix: (r) => String(r.int(51, 55)), length: 16, weight: 20 }, // Mastercard
  { prefix: (r) => String(r.int(2221, 2720)), length: 16, weight: 6 }, // Mastercard 2-series
  { prefix: (r) => r.pick(["34", "37"]), length: 15, weight: 14 }, // American Express
  { prefix: (r) => r.pick(["6011", "65"]), length: 16, weight: 8 }, // Discover
  { prefix: (r) => String(r.int(3528, 3589)), length: 16, weight: 6 }, // JCB
  { prefix: (r) => r.pick(["36", "38"]), length: 14, weight: 4 }, // Diners Club
  { prefix: () => "4", length: 13, weight: 2 }, // old 13-digit Visa
];

function cardDigits(r: CorpusRandom): string {
  const total = ISSUERS.reduce((n, i) => n + i.weight, 0);
  let roll = r.int(1, total);
  const issuer = ISSUERS.find((i) => (roll -= i.weight) <= 0)!;
  const prefix = issuer.prefix(r);
  const body = prefix + r.digits(issuer.length - 1 - prefix.length);
  return body + luhnDigit(body);
}

/** Prints card digits the way they appear on the card or in a form. */
function printCard(r: CorpusRandom, digits: string): string {
  const style = r.int(0, 9);
  if (style < 4) return digits;
  const sep = style < 8 ? " " : "-";
  const groups = digits.length === 15 ? [4, 6, 5] : digits.length === 14 ? [4, 6, 4] : digits.length === 13 ? [13] : [4, 4, 4, 4];
  const out: string[] = [];
  let at = 0;
  for (const g of groups) {
    out.push(digits.slice(at, at + g));
    at += g;
  }
  return out.join(sep);
}

/** A Luhn-valid card of a real issuer, compact or grouped. */
export const validCard: ValueGenerator = (r) => whole(printCard(r, cardDigits(r)));

/** A card number with a wrong check digit, a random 16-digit number, or too few digits. */
export const nearMissCard: ValueGenerator = (r) => {
  const digits = cardDigits(r);
  const roll = r.int(0, 9);
  if (roll < 7) {
    const wrong = (Number(digits[digits.length - 1]) + r.int(1, 9)) % 10;
    return plain(printCard(r, digits.slice(0, -1) + wrong));
  }
  if (roll < 9) {
    // No issuer starts with 0, 1, 7, 8 or 9.
    const body = r.pick(["0", "1", "7", "8", "9"]) + r.digits(14);
    return plain(printCard(r, body + luhnDigit(body)));
  }
  return plain(digits.slice(0, 4) + " " + digits.slice(4, 8) + " " + digits.slice(8, 12));
};

// ---------- IBAN ----------

/** Country, BBAN layout (`n` digit, `a` uppercase letter, `c` either). */
const IBAN_FORMATS: ReadonlyArray<[string, string]> = [
  ["DE", "n".repeat(18)],
  ["GB", "aaaa" + "n".repeat(14)],
  ["FR", "n".repeat(10) + "c".repeat(11) + "nn"],
  ["ES", "n".repeat(20)],
  ["IT", "a" + "n".repeat(10) + "c".repeat(12)],
  ["NL", "aaaa" + "n".repeat(10)],
  ["BE", "n".repeat(12)],
  ["CH", "n".repeat(5) + "c".repeat(12)],
  ["AT", "n".repeat(16)],
  ["PL", "n".repeat(24)],
  ["SE", "n".repeat(20)],
  ["NO", "n".repeat(11)],
  ["IE", "aaaa" + "n".repeat(14)],
  ["PT", "n".repeat(21)],
  ["DK", "n".repeat(14)],
  ["FI", "n".repeat(14)],
  ["LU", "nnn" + "c".repeat(13)],
  ["SA", "nn" + "c".repeat(18)],
];

const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

function bban(r: CorpusRandom, layout: string): string {
  let out = "";
  for (const ch of layout) out += ch === "n" ? r.digits(1) : ch === "a" ? r.chars(UPPER, 1) : r.chars(UPPER + "0123456789", 1);
  return out;
}

/** ISO 7064 mod 97-10 of a string of digits and letters (A = 10 … Z = 35). */
function mod97(s: string): number {
  let rem = 0;
  for (const ch of s) {
    const v = parseInt(ch, 36);
    rem = v >= 10 ? (rem * 100 + v) % 97 : (rem * 10 + v) % 97;
  }
  return rem;
}

function withCheckDigits(country: string, body: string): string {
  const check = 98 - mod97(`${body}${country}00`);
  return `${country}${String(check).padStart(2, "0")}${body}`;
}

function printIban(r: CorpusRandom, iban: string): string {
  return r.chance(0.5) ? iban : (iban.match(/.{1,4}/g) ?? []).join(" ");
}

/** A valid IBAN of one of 18 countries, compact or in groups of four. */
export const validIban: ValueGenerator = (r) => {
  const [country, layout] = r.pick(IBAN_FORMATS);
  return whole(printIban(r, withCheckDigits(country, bban(r, layout))));
};

/** An IBAN failing mod 97, one character short for its country, or of a country without IBANs. */
export const nearMissIban: ValueGenerator = (r) => {
  const [country, layout] = r.pick(IBAN_FORMATS);
  const roll = r.int(0, 9);
  if (roll < 5) {
    const iban = withCheckDigits(country, bban(r, layout));
    const at = r.int(4, iban.length - 1);
    const ch = iban[at]!;
    const swapped = /\d/.test(ch) ? String((Number(ch) + r.int(1, 9)) % 10) : ch === "Z" ? "A" : String.fromCharCode(ch.charCodeAt(0) + 1);
    return plain(printIban(r, iban.slice(0, at) + swapped + iban.slice(at + 1)));
  }
  if (roll < 8) return plain(printIban(r, withCheckDigits(country, bban(r, layout.slice(1)))));
  return plain(printIban(r, withCheckDigits(r.pick(["XX", "ZZ", "QQ", "US"]), bban(r, layout))));
};

// ---------- US social security numbers ----------

function ssnParts(r: CorpusRandom): [string, string, string] {
  for (;;) {
    let area = r.int(1, 899);
    if (area === 666) area = 667;
    const parts: [string, string, string] = [String(area).padStart(3, "0"), String(r.int(1, 99)).padStart(2, "0"), String(r.int(1, 9999)).padStart(4, "0")];
    const all = parts.join("");
    if (!["078051120", "219099999", "123456789"].includes(all) && !/^(\d)\1{8}$/.test(all)) return parts;
  }
}

/** An SSN the SSA could issue: dashed, spaced, or bare after an "SSN" label. */
export const validSsn: ValueGenerator = (r) => {
  const [a, g, s] = ssnParts(r);
  const roll = r.int(0, 9);
  if (roll < 7) return whole(`${a}-${g}-${s}`);
  if (roll < 9) return whole(`${a} ${g} ${s}`);
  const label = r.pick(["SSN: ", "SSN ", "ssn#", "social security number ", "Social Security No. "]);
  return { text: `${label}${a}${g}${s}`, label: { start: label.length, end: label.length + 9 } };
};

/** SSNs that cannot be issued (area 000, 666, 9xx; group 00; serial 0000; voided numbers). */
export const nearMissSsn: ValueGenerator = (r) => {
  const [a, g, s] = ssnParts(r);
  const sep = r.chance(0.8) ? "-" : " ";
  const fmt = (x: string, y: string, z: string) => `${x}${sep}${y}${sep}${z}`;
  switch (r.int(0, 6)) {
    case 0:
      return plain(fmt("000", g, s));
    case 1:
      return plain(fmt("666", g, s));
    case 2:
      return plain(fmt(String(r.int(900, 999)), g, s));
    case 3:
      return plain(fmt(a, "00", s));
    case 4:
      return plain(fmt(a, g, "0000"));
    case 5: {
      const [x, y, z] = r.pick([["078", "05", "1120"], ["219", "09", "9999"], ["123", "45", "6789"]] as const);
      return plain(fmt(x, y, z));
    }
    default:
      return plain(`${a}${g}${s}`); // nine bare digits with no SSN label: an id, not an SSN
  }
};

// ---------- phone numbers ----------

const nanpArea = (r: CorpusRandom) => `${r.int(2, 9)}${r.digits(2)}`;
const nanpExchange = (r: CorpusRandom) => `${r.int(2, 9)}${r.digits(2)}`;

/** A phone number in one of the forms used in the US, UK, Germany, France, Japan, Australia and India. */
export const validPhone: ValueGenerator = (r) => {
  const a = nanpArea(r);
  const e = nanpExchange(r);
  const n = r.digits(4);
  const forms = [
    `(${a}) ${e}-${n}`,
    `${a}-${e}-${n}`,
    `${a}.${e}.${n}`,
    `${a} ${e} ${n}`,
    `+1 ${a} ${e} ${n}`,
    `+1-${a}-${e}-${n}`,
    `+1 (${a}) ${e}-${n}`,
    `1-800-${e}-${n}`,
    `+1${a}${e}${n}`,
    `+44 20 ${r.int(7000, 8999)} ${r.digits(4)}`,
    `020 ${r.int(7000, 8999)} ${r.digits(4)}`,
    `+44 7${r.digits(3)} ${r.digits(6)}`,
    `07${r.digits(3)} ${r.digits(6)}`,
    `+44 (0)20 ${r.int(7000, 8999)} ${r.digits(4)}`,
    `+49 30 ${r.int(1, 9)}${r.digits(7)}`,
    `030 ${r.int(1, 9)}${r.digits(7)}`,
    `+49 151 ${r.digits(8)}`,
    `+33 1 ${r.digits(2)} ${r.digits(2)} ${r.digits(2)} ${r.digits(2)}`,
    `0${r.int(1, 7)} ${r.digits(2)} ${r.digits(2)} ${r.digits(2)} ${r.digits(2)}`,
    `+81 3-${r.digits(4)}-${r.digits(4)}`,
    `03-${r.digits(4)}-${r.digits(4)}`,
    `+61 2 ${r.int(8, 9)}${r.digits(3)} ${r.digits(4)}`,
    `(02) ${r.int(8, 9)}${r.digits(3)} ${r.digits(4)}`,
    `+91 ${r.int(7, 9)}${r.digits(4)} ${r.digits(5)}`,
    `+1 ${a}-${e}-${n}`,
    `+1.${a}.${e}.${n}`,
    `(${a})${e}-${n}`,
    `+49 (0)30 ${r.int(1, 9)}${r.digits(6)}`,
    `+353 1 ${r.digits(3)} ${r.digits(4)}`,
    `+86 13${r.digits(1)} ${r.digits(4)} ${r.digits(4)}`,
    `+55 11 9${r.digits(4)}-${r.digits(4)}`,
    `+34 6${r.digits(2)} ${r.digits(2)} ${r.digits(2)} ${r.digits(2)}`,
    `+31 6 ${r.digits(8)}`,
    `+7 495 ${r.digits(3)}-${r.digits(2)}-${r.digits(2)}`,
  ];
  return whole(r.pick(forms));
};

/** Numbers that are not phones: dates, times, ranges, ids, versions, prices, too-short numbers. */
export const nearMissPhone: ValueGenerator = (r) =>
  plain(
    r.pick([
      `${r.int(1990, 2030)}-${String(r.int(1, 12)).padStart(2, "0")}-${String(r.int(1, 28)).padStart(2, "0")}`,
      `${String(r.int(1, 28)).padStart(2, "0")}.${String(r.int(1, 12)).padStart(2, "0")}.${r.int(1990, 2030)}`,
      `${r.int(10, 23)}:${r.int(10, 59)}-${r.int(10, 23)}:${r.int(10, 59)}`,
      `${r.int(100, 199)}-${r.int(200, 999)}-${r.digits(4)}`,
      `#${r.digits(10)}`,
      `v${r.int(1, 9)}.${r.int(0, 20)}.${r.int(0, 99)}`,
      `$${r.int(1, 999)},${r.digits(3)},${r.digits(3)}`,
      `${r.int(10000, 99999)}-${r.digits(4)}`,
      `978-${r.int(0, 9)}-${r.digits(2)}-${r.digits(6)}-${r.int(0, 9)}`,
      `${r.int(200, 999)}-${r.digits(4)}`,
      `${r.int(1, 9)}${r.digits(2)}.${r.digits(2)}`,
    ]),
  );
