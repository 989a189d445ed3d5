import { detectEmails, detectIps } from "./contact-detectors.js";
import { detectCards, detectIbans, detectPhones, detectSsns } from "./number-detectors.js";
import { PII_ENTITIES, type PiiDetector, type PiiEntityName, type PiiSpan } from "./pii-types.js";
import { detectSecrets } from "./secret-detectors.js";

const DETECTORS: Readonly<Record<PiiEntityName, PiiDetector>> = {
  EMAIL: detectEmails,
  PHONE: detectPhones,
  CREDIT_CARD: detectCards,
  IBAN: detectIbans,
  US_SSN: detectSsns,
  IP_ADDRESS: detectIps,
  SECRET: detectSecrets,
};

/**
 * Every personal or secret value of the kinds in `entities` (all kinds when empty) in `text`,
 * in text order and without overlaps. Where matches overlap, the longer one wins, and on equal
 * length the kind listed first in {@link PII_ENTITIES} (a secret over a card, a card over a phone).
 * Linear in the length of the text: every detector's pattern is free of nested or overlapping
 * unbounded quantifiers (see each detector).
 */
export function detectPii(text: string, entities: readonly PiiEntityName[] = []): PiiSpan[] {
  const wanted = entities.length === 0 ? PII_ENTITIES : PII_ENTITIES.filter((e) => entities.includes(e));
  const found = wanted.flatMap((entity) => DETECTORS[entity](text));
  const rank = (e: PiiEntityName) => PII_ENTITIES.indexOf(e);
  found.sort((a, b) => b.end - b.start - (a.end - a.start) || rank(a.entity) - rank(b.entity) || a.start - b.start);
  const kept: PiiSpan[] = [];
  // Characters already covered by a kept span: each candidate costs its own length to check.
  const taken = new Uint8Array(found.length === 0 ? 0 : text.length);
  for (const span of found) {
    let free = true;
    for (let i = span.start; i < span.end && free; i++) free = taken[i] === 0;
    if (!free) continue;
    taken.fill(1, span.start, span.end);
    kept.push(span);
  }
  return kept.sort((a, b) => a.start - b.start);
}
