import type { CorpusRandom } from "./corpus-random.js";
import { plain, whole, type ValueGenerator } from "./corpus-values.js";

/*
 * Value generators of the synthetic PII corpus for text-shaped kinds: email addresses, IP
 * addresses and secrets, one valid and one near-miss generator per kind.
 */

// ---------- email ----------

const FIRST = ["jane", "john", "maria", "wei", "fatima", "olga", "pierre", "aiko", "carlos", "priya", "liam", "noah", "emma", "ava", "lucas", "zoe", "omar", "sven", "ines", "kofi"];
const LAST = ["doe", "smith", "garcia", "chen", "khan", "ivanova", "dubois", "tanaka", "silva", "patel", "murphy", "nguyen", "muller", "rossi", "kowalski", "okafor", "berg", "costa"];
const DOMAINS = ["example.com", "corp.co.uk", "mail.acme.io", "university.edu", "sub.domain.example.org", "firma.de", "startup.ai", "gmail.com", "outlook.com", "proton.me", "consulting.technology", "bank.com.au", "service.fr", "health-care.org"];

/** An address with a realistic local part and domain (mixed case, tags, digits, hyphens). */
export const validEmail: ValueGenerator = (r) => {
  const f = r.pick(FIRST);
  const l = r.pick(LAST);
  const local = r.pick([`${f}.${l}`, `${f}_${l}`, `${f[0]}${l}`, `${f}.${l}${r.int(1, 99)}`, `${f}+${r.pick(["billing", "news", "test"])}`, `${f}-${l}`, `${f[0]!.toUpperCase()}${f.slice(1)}.${l[0]!.toUpperCase()}${l.slice(1)}`, `${f}${r.int(1970, 2005)}`]);
  const domain = r.pick(DOMAINS);
  const address = `${local}@${domain}`;
  return whole(r.chance(0.05) ? address.toUpperCase() : r.chance(0.1) ? `${local}@${domain.toUpperCase()}` : address);
};

/** Look-alikes: no domain dot, spelled out, handles, package specs, broken local parts. */
export const nearMissEmail: ValueGenerator = (r) => {
  const f = r.pick(FIRST);
  const l = r.pick(LAST);
  return plain(
    r.pick([
      `${f}@localhost`,
      `@${f}${l}`,
      `${f} at ${l} dot com`,
      `${f}.${l}@`,
      `${f}..${l}@example.com`,
      `lodash@4.17.${r.int(1, 21)}`,
      `@types/node@${r.int(16, 22)}.${r.int(0, 9)}.${r.int(0, 9)}`,
      `${f}[at]${l}.com`,
      `${f}@${l}`,
    ]),
  );
};

// ---------- IP addresses ----------

const octet = (r: CorpusRandom) => String(r.int(0, 255));
const hex4 = (r: CorpusRandom) => r.int(1, 0xffff).toString(16);

/** IPv4 (public and private) and IPv6 in full, compressed, link-local and IPv4-mapped forms. */
export const validIp: ValueGenerator = (r) => {
  const roll = r.int(0, 9);
  if (roll === 0) {
    // An address with a port or a prefix length: only the address is labelled.
    const ip = `${r.int(1, 223)}.${octet(r)}.${octet(r)}.${r.int(1, 254)}`;
    return { text: `${ip}${r.pick([":8080", ":443", "/24", "/32"])}`, label: { start: 0, end: ip.length } };
  }
  if (roll < 6) {
    return whole(r.pick([`${r.int(1, 223)}.${octet(r)}.${octet(r)}.${octet(r)}`, `10.${octet(r)}.${octet(r)}.${r.int(1, 254)}`, `192.168.${octet(r)}.${r.int(1, 254)}`, `172.${r.int(16, 31)}.${octet(r)}.${r.int(1, 254)}`]));
  }
  return whole(
    r.pick([
      `2001:db8:${hex4(r)}:${hex4(r)}:${hex4(r)}:${hex4(r)}:${hex4(r)}:${hex4(r)}`,
      `2001:0db8:85a3:0000:0000:8a2e:0370:${r.int(0x1000, 0xffff).toString(16)}`,
      `2001:db8::${hex4(r)}:${hex4(r)}`,
      `fe80::${hex4(r)}:${hex4(r)}:${hex4(r)}`,
      `::ffff:192.0.2.${r.int(1, 254)}`,
      "::1",
      `2a00:1450:${hex4(r)}::${hex4(r)}`,
      `2001:DB8:${hex4(r).toUpperCase()}::${hex4(r).toUpperCase()}`,
    ]),
  );
};

/** Dotted or colon-separated numbers that are not addresses. */
export const nearMissIp: ValueGenerator = (r) =>
  plain(
    r.pick([
      `${r.int(256, 999)}.${octet(r)}.${octet(r)}.${octet(r)}`,
      `${r.int(1, 9)}.${r.int(0, 20)}.${r.int(0, 99)}`,
      `0${r.int(1, 9)}.0${r.int(1, 9)}.0${r.int(1, 9)}.0${r.int(1, 9)}`,
      `${r.int(10, 23)}:${r.int(10, 59)}:${r.int(10, 59)}`,
      "std::vector",
      `${r.chars("0123456789ABCDEF", 2)}:${r.chars("0123456789ABCDEF", 2)}:${r.chars("0123456789ABCDEF", 2)}:${r.chars("0123456789ABCDEF", 2)}:${r.chars("0123456789ABCDEF", 2)}:${r.chars("0123456789ABCDEF", 2)}`,
      `${octet(r)}.${octet(r)}.${octet(r)}.${octet(r)}.${octet(r)}`,
      `3.${r.digits(5)}`,
    ]),
  );

// ---------- secrets ----------

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const B64URL = `${ALNUM}_-`;
const B64 = `${ALNUM}+/`;

/** An alphabet draw that contains at least one letter and one digit (as real keys do). */
function keyBody(r: CorpusRandom, alphabet: string, n: number): string {
  for (;;) {
    const s = r.chars(alphabet, n);
    if (/\d/.test(s) && /[A-Za-z]/.test(s)) return s;
  }
}

const b64url = (json: object) => Buffer.from(JSON.stringify(json)).toString("base64url");

function jwt(r: CorpusRandom): string {
  const alg = r.pick(["HS256", "RS256", "ES256"]);
  const header = b64url(r.chance(0.5) ? { alg, typ: "JWT" } : { typ: "JWT", alg, kid: keyBody(r, ALNUM, 8) });
  const payload = b64url({ sub: r.digits(10), name: `${r.pick(FIRST)} ${r.pick(LAST)}`, iat: r.int(1_600_000_000, 1_800_000_000) });
  return `${header}.${payload}.${keyBody(r, B64URL, alg === "HS256" ? 43 : 86)}`;
}

function pem(r: CorpusRandom): string {
  const kind = r.pick(["RSA ", "EC ", "OPENSSH ", "", "ENCRYPTED ", "DSA "]);
  const lines = Array.from({ length: r.int(2, 8) }, () => r.chars(B64, 64));
  lines.push(r.chars(B64, r.int(4, 60)) + "==");
  return `-----BEGIN ${kind}PRIVATE KEY-----\n${lines.join("\n")}\n-----END ${kind}PRIVATE KEY-----`;
}

/** Provider API keys, AWS keys, GitHub tokens, JWTs and PEM private keys in their published formats. */
export const validSecret: ValueGenerator = (r) => {
  switch (r.int(0, 10)) {
    case 0:
      return whole(`sk-${keyBody(r, ALNUM, 48)}`);
    case 1:
      return whole(`sk-${r.pick(["proj-", "proj-", "svcacct-", "admin-"])}${keyBody(r, B64URL, r.int(56, 156))}`);
    case 2:
      return whole(`sk-ant-${r.pick(["api03", "api03", "admin01"])}-${keyBody(r, B64URL, 93)}AA`);
    case 3:
      return whole(`AIza${keyBody(r, B64URL, 35)}`);
    case 4:
      return whole(`${r.pick(["AKIA", "ASIA"])}${keyBody(r, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)}`);
    case 5: {
      const prefix = r.pick(["aws_secret_access_key = ", "AWS_SECRET_ACCESS_KEY=", 'aws_secret_access_key: "']);
      const value = keyBody(r, B64, 40);
      return { text: `${prefix}${value}${prefix.endsWith('"') ? '"' : ""}`, label: { start: prefix.length, end: prefix.length + 40 } };
    }
    case 6:
      return whole(`${r.pick(["ghp", "gho", "ghs"])}_${keyBody(r, ALNUM, 36)}`);
    case 7:
      return whole(`github_pat_${keyBody(r, `${ALNUM}_`, 82)}`);
    case 8:
    case 9:
      return whole(jwt(r));
    default:
      return whole(pem(r));
  }
};

/** Key-like strings that are not credentials. */
export const nearMissSecret: ValueGenerator = (r) =>
  plain(
    r.pick([
      "sk-learn",
      `sk-${r.chars(ALNUM, 8)}`,
      "task-force-alpha",
      `AKIA${r.chars("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 6)}`,
      `AIza${r.chars(ALNUM, 10)}`,
      `ghp_${r.chars(ALNUM, 12)}`,
      `-----BEGIN CERTIFICATE-----\n${r.chars(B64, 64)}\n-----END CERTIFICATE-----`,
      `-----BEGIN PUBLIC KEY-----\n${r.chars(B64, 64)}\n-----END PUBLIC KEY-----`,
      `${b64url({ typ: "JWT" })}.${b64url({ sub: r.digits(6) })}.${r.chars(B64URL, 43)}`,
      r.chars("0123456789abcdef", 40),
      `${r.chars("0123456789abcdef", 8)}-${r.chars("0123456789abcdef", 4)}-4${r.chars("0123456789abcdef", 3)}-a${r.chars("0123456789abcdef", 3)}-${r.chars("0123456789abcdef", 12)}`,
    ]),
  );
