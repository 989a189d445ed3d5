import { describe, expect, it } from "vitest";
import { generateSecret } from "../../auth/key-format.js";
import { cardNumberValid, ibanValid, luhnValid, ssnValid } from "./checksums.js";
import { detectPii } from "./detect-pii.js";
import { PEM_KEYS } from "./pem-keys.testing.js";
import type { PiiEntityName } from "./pii-types.js";
import { MAX_PEM_BLOCK_CHARS } from "./secret-detectors.js";

/** The values of `entity` found in `text`. */
const found = (text: string, entity: PiiEntityName) =>
  detectPii(text)
    .filter((s) => s.entity === entity)
    .map((s) => text.slice(s.start, s.end));

describe("checksums", () => {
  it("Luhn: accepts valid check digits only", () => {
    expect(luhnValid("4111111111111111")).toBe(true);
    expect(luhnValid("4111111111111112")).toBe(false);
    expect(cardNumberValid("378282246310005")).toBe(true); // Amex, 15
    expect(cardNumberValid("3782822463100050")).toBe(false); // Amex prefix with 16 digits
    expect(cardNumberValid("3714496353984314")).toBe(false); // Amex prefix, 16 digits with a valid Luhn digit
    expect(cardNumberValid("9111111111111111")).toBe(false); // no issuer 9
  });
  it("IBAN: country length and mod 97", () => {
    expect(ibanValid("DE89370400440532013000")).toBe(true);
    expect(ibanValid("DE88370400440532013000")).toBe(false);
    expect(ibanValid("DE8937040044053201300")).toBe(false); // one digit short for DE
    expect(ibanValid("XX89370400440532013000")).toBe(false);
  });
  it("SSN: area, group, serial and voided numbers", () => {
    expect(ssnValid("536", "22", "1234")).toBe(true);
    expect(ssnValid("899", "12", "3456")).toBe(true); // the last area before the unissued 900–999
    for (const [a, g, s] of [["000", "12", "3456"], ["666", "12", "3456"], ["912", "12", "3456"], ["900", "12", "3456"], ["999", "12", "3456"], ["536", "00", "1234"], ["536", "22", "0000"], ["078", "05", "1120"], ["123", "45", "6789"]]) {
      expect(ssnValid(a!, g!, s!), `${a}-${g}-${s}`).toBe(false);
    }
  });
});

describe("detectors: positives and near misses", () => {
  it("EMAIL", () => {
    expect(found("write to jane.doe+x@mail.example.co.uk, or ops@acme.io.", "EMAIL")).toEqual(["jane.doe+x@mail.example.co.uk", "ops@acme.io"]);
    expect(found("user@localhost, @handle, jane at example dot com, a..b@example.com", "EMAIL")).toEqual([]);
  });
  it("PHONE", () => {
    expect(found("call +1 415 555 0134 or (415) 555-0134 or 415.555.0134, UK 020 7946 0958, FR 01 23 45 67 89", "PHONE")).toEqual([
      "+1 415 555 0134",
      "(415) 555-0134",
      "415.555.0134",
      "020 7946 0958",
      "01 23 45 67 89",
    ]);
    expect(found("order 5551234567, date 2024-03-15, version 1.2.3, 123-456-7890 (area 123), 415-555.0134", "PHONE")).toEqual([]);
  });
  it("CREDIT_CARD", () => {
    expect(found("pay 4111 1111 1111 1111, 5500-0000-0000-0004 or 378282246310005", "CREDIT_CARD")).toEqual(["4111 1111 1111 1111", "5500-0000-0000-0004", "378282246310005"]);
    expect(found("bad 4111 1111 1111 1112, 1234 5678 9012 3456, 41 11 11 11 11 11 11 11", "CREDIT_CARD")).toEqual([]);
  });
  it("IBAN", () => {
    expect(found("to DE89 3704 0044 0532 0130 00 THANKS or GB82WEST12345698765432.", "IBAN")).toEqual(["DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432"]);
    expect(found("DE88 3704 0044 0532 0130 00 and GB82WEST1234569876543 and DE12 34", "IBAN")).toEqual([]);
  });
  it("US_SSN", () => {
    expect(found("SSN 536-22-1234, 536 22 1235 and ssn: 536221236", "US_SSN")).toEqual(["536-22-1234", "536 22 1235", "536221236"]);
    expect(found("000-12-3456 666-12-3456 912-12-3456 536-00-1234 536-22-0000 123-45-6789 and part 536221234", "US_SSN")).toEqual([]);
  });
  it("IP_ADDRESS", () => {
    expect(found("from 192.168.0.1, ::1 and 2001:db8::8a2e:370:7334.", "IP_ADDRESS")).toEqual(["192.168.0.1", "::1", "2001:db8::8a2e:370:7334"]);
    expect(found("256.1.1.1, 1.2.3, version 10.2.3.4, 12:30:45, std::vector, 01.02.03.04", "IP_ADDRESS")).toEqual([]);
  });
  it("SECRET", () => {
    const sb = generateSecret();
    const text = [
      "sk-proj-abc123DEF456ghi789JKL012mno",
      "sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789",
      "AKIAIOSFODNN7EXAMPLE",
      "AIzaSyA-1234567890abcdefghijklmnopqrstu",
      "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
      `ghp_${"a1".repeat(18)}`,
      sb,
      "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----",
    ];
    expect(found(text.join(" | "), "SECRET")).toEqual(text);
    const tampered = `${sb.slice(0, -1)}${sb.endsWith("A") ? "B" : "A"}`;
    expect(found(`sk-learn, sk-short, AKIA, eyJhbGciOi, -----BEGIN CERTIFICATE-----, ${tampered}, eyJub3QiOiJqd3QifQ.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N`, "SECRET")).toEqual([]);
  });
  it("SECRET: a PEM private key whole, header to footer, in every form an answer carries it", () => {
    for (const [form, key] of Object.entries(PEM_KEYS)) expect(found(`Here: ${key}\nKeep it safe.`, "SECRET"), form).toEqual([key]);
  });
  it("SECRET: a PEM header without its footer covers the body's characters that follow, 16 KiB at most", () => {
    const header = "-----BEGIN PRIVATE KEY-----";
    // A key cut off, then prose: the block ends at the first character no PEM body holds.
    const cut = PEM_KEYS.pkcs8.slice(0, 400);
    expect(found(`${cut}... (truncated). Ask for the rest.`, "SECRET")).toEqual([cut]);
    // Words (base64 letters and spaces) after a header: the block stops 16 KiB after it.
    const words = `${header} ${Array.from({ length: 8000 }, (_, i) => `word${i}`).join(" ")}`;
    expect(found(`Here is the format: ${words}`, "SECRET")).toEqual([words.slice(0, header.length + MAX_PEM_BLOCK_CHARS)]);
    // A body longer than any real key: masked to the bound, whether or not its footer comes.
    const huge = `${header}\n${"QUJD".repeat(MAX_PEM_BLOCK_CHARS / 2)}\n-----END PRIVATE KEY-----`;
    expect(found(huge, "SECRET")).toEqual([huge.slice(0, header.length + MAX_PEM_BLOCK_CHARS)]);
  });
  it("bugs the generated corpus found stay fixed", () => {
    // A national number with the area code in parentheses.
    expect(found("call (02) 9876 5432 or (020 7946 0958)", "PHONE")).toEqual(["(02) 9876 5432", "020 7946 0958"]);
    // Card-valid digits inside an alphanumeric token or a longer grouped code are not a card.
    expect(found("IBAN: XX4857553663697724 and PT66 5734 5648 2798 1660 7408 6", "CREDIT_CARD")).toEqual([]);
    expect(found("card 4111 1111 1111 1111 09/27", "CREDIT_CARD")).toEqual(["4111 1111 1111 1111"]);
    // Phone-shaped groups that continue a grouped account number are not a phone.
    expect(found("account IE68 JREX 9276 0575 7636 40 by Monday", "PHONE")).toEqual([]);
    // A JWT at the end of a sentence.
    const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
    expect(found(`backup: ${jwt}.`, "SECRET")).toEqual([jwt]);
  });

  it("prefers the longer match and never reports overlaps", () => {
    const spans = detectPii("card 4111111111111111 mail a@b.io");
    expect(spans.map((s) => s.entity)).toEqual(["CREDIT_CARD", "EMAIL"]);
    for (let i = 1; i < spans.length; i++) expect(spans[i]!.start).toBeGreaterThanOrEqual(spans[i - 1]!.end);
  });
  it("stays linear on hostile input (100 KB of near-candidates in well under a second)", () => {
    const hostile = ["1".repeat(50_000), "a@".repeat(10_000), "1.".repeat(10_000), "+1 ".repeat(10_000), "sk-".repeat(5_000), ":".repeat(20_000), "-----BEGIN RSA PRIVATE KEY-----".repeat(1000)].join(" ");
    const started = performance.now();
    detectPii(hostile);
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});
