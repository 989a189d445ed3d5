import { isIPv4, isIPv6 } from "node:net";
import { matchAll, type PiiDetector } from "./pii-types.js";

/**
 * Email addresses: a local part, `@`, and a domain with at least one dot and a 2+ letter top
 * level. `user@localhost`, `@handle` and `name at example dot com` are not matched.
 */
export const detectEmails: PiiDetector = (text) =>
  matchAll(text, /(?<![\w.%+-])[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,62}[A-Za-z0-9_%+-])?@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])/g, "EMAIL", (m) => {
    const local = m[0].slice(0, m[0].indexOf("@"));
    return !local.includes("..");
  });

/**
 * IPv4 addresses (four decimal octets ≤ 255, no leading zeros) and IPv6 addresses in any of
 * their textual forms (full, `::`-compressed, with an embedded IPv4), checked by `node:net`.
 * Version numbers with other part counts (`1.2.3`) and times (`12:30:45`) are not addresses.
 */
export const detectIps: PiiDetector = (text) => [
  ...matchAll(text, /(?<![\w.])\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?![\w]|\.\d)/g, "IP_ADDRESS", (m) => {
    // "version 10.2.3.4", "build 1.0.0.12": a four-part version number, not an address.
    const before = text.slice(Math.max(0, m.index - 12), m.index);
    return isIPv4(m[0]) && !/\b(v|ver|version|build|release|rev)\.?\s*$/i.test(before);
  }),
  ...matchAll(text, /(?<![\w:.])(?:[0-9A-Fa-f]{1,4}:|::?)[0-9A-Fa-f:.]{1,44}(?![\w:])/g, "IP_ADDRESS", (m) => {
    const candidate = m[0].replace(/[.:]+$/, "");
    return candidate.includes(":") && candidate.split(":").length >= 3 && isIPv6(candidate);
  }).map((span) => {
    // Sentence punctuation after an address is not part of it.
    const trailing = /[.:]+$/.exec(text.slice(span.start, span.end))?.[0].length ?? 0;
    return { ...span, end: span.end - trailing };
  }),
];
