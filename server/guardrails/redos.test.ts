/**
 * P23: pathological input to the PII detectors and the other in-process rules stays linear. Each
 * detector gets 1 MiB strings built to make backtracking patterns blow up (long runs of digits
 * and separators, `a@a@…`, dotted and colon-separated runs, key prefixes and PEM headers without
 * an end, newline runs) and must finish each within a second of CPU. A super-linear pattern
 * takes minutes on these (the injection heuristics' `^\s*` did: 100 KB of newlines, 66 s).
 */
import { describe, expect, it } from "vitest";
import { compileDenyList } from "./deny-list.js";
import { scoreInjection } from "./injection.js";
import { detectEmails, detectIps } from "./pii/contact-detectors.js";
import { detectPii } from "./pii/detect-pii.js";
import { detectCards, detectIbans, detectPhones, detectSsns } from "./pii/number-detectors.js";
import { detectSecrets } from "./pii/secret-detectors.js";
import { compileSafeRegex } from "./regex/safe-regex.js";

const MIB = 1 << 20;
/** `unit` repeated to exactly 1 MiB (UTF-16 code units). */
const fill = (unit: string, prefix = "") => prefix + unit.repeat(Math.ceil(MIB / unit.length)).slice(0, MIB - prefix.length);

const HOSTILE: Readonly<Record<string, string>> = {
  "digits": fill("1"),
  "digits and spaces": fill("1 "),
  "digits and dashes": fill("1-"),
  "groups of four": fill("1234 "),
  "dotted digits": fill("1."),
  "colon-separated": fill("ab:"),
  "a@a@a@": fill("a@"),
  "a.a@": fill("a.a@"),
  "one @ then labels": fill("a.", "x@"),
  "+1 +1": fill("+1 "),
  "(0(0": fill("(0"),
  "IBAN prefixes": fill("DE89 "),
  "IBAN letters": fill("AB12"),
  "SSN prefixes": fill("123-45-"),
  "sk-sk-": fill("sk-"),
  "eyJ.eyJ.": fill("eyJ."),
  "AKIA": fill("AKIA"),
  "PEM headers": fill("-----BEGIN RSA PRIVATE KEY-----"),
  "PEM header, endless name": fill("A", "-----BEGIN "),
  "aws assignment, endless space": fill(" ", "aws_secret_access_key="),
  "newlines": fill("\n"),
  "199-character runs": fill(`${"a".repeat(199)} `),
  "mixed punctuation": fill("a1.@-: +("),
  // Text a deny list normalises: ignorables, marks, compatibility forms, astral letters, lone halves.
  "zero-width spaces": fill("\u200b"),
  "marks on one letter": fill("\u0332", "a\u0301"),
  "accented letters with extra marks": fill("a\u0301\u0332 "),
  "an 18-unit decomposition (U+FDFA)": fill("\ufdfa"),
  "fullwidth prefixes and ignorables": fill("ｌａｕｎｃｈ\u200b "),
  "mathematical letters": fill("𝐚 "),
  "lone high surrogates": fill("\ud835"),
};

const DETECTORS: Readonly<Record<string, (text: string) => unknown>> = {
  detectEmails,
  detectIps,
  detectCards,
  detectIbans,
  detectPhones,
  detectSsns,
  detectSecrets,
  detectPii: (t) => detectPii(t),
  scoreInjection,
  "deny list": (t) => compileDenyList(["launch codes", "a a a a b", "1 1 1 1 2", "á á", "á á á b"]).find(t),
  "deny list pendingStart": (t) => compileDenyList(["launch codes", "a a a a b", "á á á b"]).pendingStart(t),
  "policy regex": (t) => compileSafeRegex("(a|a)*b|(1+)+2").findAll(t),
};

/**
 * P23's bound: 1 s of CPU (user + system time of this process, so other load on a shared machine
 * does not count). Linear code takes 10–300 ms here; a super-linear pattern takes minutes.
 */
const BOUND_MS = 1_000;

/** CPU milliseconds `run` takes. */
function cpuMs(run: () => unknown): number {
  const before = process.cpuUsage();
  run();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1_000;
}

describe("ReDoS: 1 MiB adversarial inputs (P23)", () => {
  for (const [name, detect] of Object.entries(DETECTORS)) {
    it(`${name} stays under ${BOUND_MS} ms of CPU on every hostile input`, () => {
      const slow: string[] = [];
      for (const [input, text] of Object.entries(HOSTILE)) {
        const elapsed = cpuMs(() => detect(text));
        if (elapsed >= BOUND_MS) slow.push(`${input}: ${elapsed.toFixed(0)} ms CPU`);
      }
      expect(slow).toEqual([]);
    });
  }
});
