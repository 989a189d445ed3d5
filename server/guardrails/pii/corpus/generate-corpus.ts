import type { PiiEntityName, PiiSpan } from "../pii-types.js";
import { createCorpusRandom, type CorpusRandom } from "./corpus-random.js";
import * as textValues from "./corpus-text-values.js";
import * as values from "./corpus-values.js";
import type { CorpusValue, ValueGenerator } from "./corpus-values.js";

/** One labelled snippet: the text and every PII span in it. */
export interface CorpusSnippet {
  text: string;
  spans: PiiSpan[];
  /** `positive`: holds labelled values; `near_miss`: look-alikes only; `negative`: no candidate at all. */
  kind: "positive" | "near_miss" | "negative";
  /** For a near miss: the kind it imitates. */
  imitates?: PiiEntityName;
}

/** Options of {@link generatePiiCorpus}. */
export interface CorpusOptions {
  /** PRNG seed (default 22, for P22): one seed, one corpus, byte for byte. */
  seed?: number;
  /** Snippets with one real value, per kind (default 500). */
  positivesPerKind?: number;
  /** Snippets with one near miss, per kind (default 250). */
  nearMissesPerKind?: number;
  /** Snippets mixing two or three values of different kinds (default 400). */
  mixed?: number;
  /** Snippets with no candidate (default 500). */
  negatives?: number;
}

/** Sentences a value of each kind is embedded in (`{}` marks the value). */
const TEMPLATES: Readonly<Record<PiiEntityName, readonly string[]>> = {
  EMAIL: [
    "Reach me at {} or call later.",
    "Please reply to {} by Friday.",
    "The account owner ({}) asked for a refund.",
    "Contact: {}",
    "Send the invoice to <{}>.",
    "mailto:{}",
    "cc {}, thanks!",
    "{} wrote: the build is broken again",
    "Forwarding to {}; she handles escalations.",
    "user_email={}&plan=pro",
    '{"email": "{}", "role": "admin"}',
    "Can you update my address to {}?",
  ],
  PHONE: [
    "Call me at {} after 5pm.",
    "Phone: {}",
    "You can reach the front desk on {}.",
    "My mobile is {}, text me anytime.",
    "Tel. {} (office hours only)",
    "The customer left a voicemail from {}.",
    "Fax {} is no longer in service.",
    "If the line drops, dial {} again.",
    "emergency contact: {}",
    '{"phone": "{}", "verified": true}',
  ],
  CREDIT_CARD: [
    "Please charge my card {} for the order.",
    "Card number: {}",
    "I paid with {} but the charge failed.",
    "Use {} exp 09/27 for the renewal.",
    "The customer's Visa/MC/Amex on file is {}.",
    "card={}&cvv=123",
    "Refund it to {}, not the other card.",
    "payment_method: {}",
    '{"card": "{}", "holder": "J Doe"}',
    "My corporate card ({}) was declined twice.",
    "Card {} 12/28 cvc 123, billing ZIP 94107.",
  ],
  IBAN: [
    "Wire the money to {} please.",
    "IBAN: {}",
    "Our bank details: IBAN {}, BIC DEUTDEFF.",
    "The refund goes to account {} by Monday.",
    "Beneficiary IBAN {} (Acme GmbH)",
    "iban={}",
    "Pay the deposit into {}.",
    '{"iban": "{}", "currency": "EUR"}',
    "Please update my payout account to {}.",
  ],
  US_SSN: [
    "My SSN is {} if you need it.",
    "Employee record: {}, hired 2019.",
    "Applicant provided {} on the form.",
    "Tax ID on file: {}",
    "Verify {} against the W-2.",
    "The claimant ({}) called about benefits.",
    "{}",
    "ssn_field: {}",
  ],
  IP_ADDRESS: [
    "The request came from {} at midnight.",
    "Block {} at the firewall.",
    "Server IP: {}",
    "ssh admin@{} -p 22",
    "Login attempt from {} was rejected.",
    "client_ip={} user_agent=curl/8.4",
    "Ping {} to check the route.",
    "We whitelisted {}.",
    '{"ip": "{}", "country": "DE"}',
  ],
  SECRET: [
    "Here is my key: {}",
    "export OPENAI_API_KEY={}",
    "The token {} leaked in the logs.",
    "Authorization: Bearer {}",
    "config:\n  {}\n",
    "I accidentally committed {} to GitHub.",
    "Use {} for the staging account.",
    "{}",
    "Rotate this one please: {}",
  ],
};

/** Sentences with no PII at all: numbers, codes and punctuation that detectors must leave alone. */
const NEGATIVES: ReadonlyArray<(r: CorpusRandom) => string> = [
  (r) => `The meeting moved to ${r.int(1, 12)}:${r.int(10, 59)} on ${r.int(1990, 2030)}-0${r.int(1, 9)}-1${r.int(0, 9)}.`,
  (r) => `Order #${r.digits(8)} shipped in ${r.int(2, 9)} boxes weighing ${r.int(1, 40)}.${r.int(0, 9)} kg.`,
  (r) => `Upgrade to version ${r.int(1, 9)}.${r.int(0, 30)}.${r.int(0, 99)} before ${r.pick(["Monday", "Friday", "the release"])}.`,
  (r) => `Revenue grew ${r.int(1, 99)}.${r.int(0, 9)}% to $${r.int(1, 999)},${r.digits(3)} this quarter.`,
  (r) => `The ZIP code ${r.digits(5)} covers ${r.int(2, 90)} blocks.`,
  (r) => `Coordinates: ${r.int(10, 80)}.${r.digits(4)}, -${r.int(10, 170)}.${r.digits(4)}`,
  (r) => `Ticket ${r.pick(["JIRA", "OPS", "SEC"])}-${r.int(100, 99999)} is blocked on review.`,
  (r) => `Commit ${r.chars("0123456789abcdef", 7)} fixed the flaky test in std::map handling.`,
  (r) => `Room ${r.int(100, 999)}, floor ${r.int(1, 40)}, building ${r.pick(["A", "B", "C"])}.`,
  (r) => `The score was ${r.int(0, 9)}-${r.int(0, 9)} after ${r.int(60, 120)} minutes.`,
  (r) => `Batch ${r.digits(4)}-${r.digits(3)} passed QA with ${r.int(0, 3)} defects.`,
  (r) => `Set the timeout to ${r.int(1, 60)}s and retries to ${r.int(1, 9)}.`,
  (r) => `ISBN 978-${r.int(0, 9)}-${r.digits(3)}-${r.digits(5)}-${r.int(0, 9)} is out of print.`,
  (r) => `The recipe needs ${r.int(1, 9)}/${r.int(2, 4)} cup of sugar and ${r.int(100, 500)} g of flour.`,
  () => "Let's sync tomorrow about the roadmap and the hiring plan.",
  () => "Summarize the attached article in three bullet points.",
  () => "What is the capital of Australia?",
  (r) => `Invoice total: EUR ${r.int(1, 9)}.${r.digits(3)},${r.digits(2)} due in ${r.int(7, 60)} days.`,
  (r) => `Flight LH${r.int(100, 9999)} departs gate B${r.int(1, 60)} at ${r.int(10, 23)}:${r.int(10, 59)}.`,
  (r) => `The UUID ${r.chars("0123456789abcdef", 8)}-${r.chars("0123456789abcdef", 4)}-4${r.chars("0123456789abcdef", 3)}-8${r.chars("0123456789abcdef", 3)}-${r.chars("0123456789abcdef", 12)} identifies the job.`,
];

const GENERATORS: Readonly<Record<PiiEntityName, { valid: ValueGenerator; nearMiss: ValueGenerator }>> = {
  EMAIL: { valid: textValues.validEmail, nearMiss: textValues.nearMissEmail },
  PHONE: { valid: values.validPhone, nearMiss: values.nearMissPhone },
  CREDIT_CARD: { valid: values.validCard, nearMiss: values.nearMissCard },
  IBAN: { valid: values.validIban, nearMiss: values.nearMissIban },
  US_SSN: { valid: values.validSsn, nearMiss: values.nearMissSsn },
  IP_ADDRESS: { valid: textValues.validIp, nearMiss: textValues.nearMissIp },
  SECRET: { valid: textValues.validSecret, nearMiss: textValues.nearMissSecret },
};

const KINDS = Object.keys(GENERATORS) as PiiEntityName[];

/** Builds one snippet from a template whose `{}` slots take `parts` in order. */
function fill(template: string, parts: ReadonlyArray<{ value: CorpusValue; entity: PiiEntityName }>): { text: string; spans: PiiSpan[] } {
  const pieces = template.split("{}");
  let text = pieces[0]!;
  const spans: PiiSpan[] = [];
  parts.forEach((part, i) => {
    if (part.value.label !== undefined) spans.push({ entity: part.entity, start: text.length + part.value.label.start, end: text.length + part.value.label.end });
    text += part.value.text + (pieces[i + 1] ?? "");
  });
  return { text, spans };
}

/**
 * Generates the synthetic, Presidio-style labelled PII corpus of P22: per kind, real values
 * (valid check digits, the forms people write them in) embedded in realistic sentences and
 * near misses (wrong check digits, impossible SSNs, look-alike keys) in the same sentences;
 * sentences mixing kinds; and sentences with no PII. Deterministic: the same options give the
 * same corpus on every run. Defaults give 6 150 snippets.
 */
export function generatePiiCorpus(opts: CorpusOptions = {}): CorpusSnippet[] {
  const r = createCorpusRandom(opts.seed ?? 22);
  const out: CorpusSnippet[] = [];
  for (const entity of KINDS) {
    for (let i = 0; i < (opts.positivesPerKind ?? 500); i++) {
      out.push({ ...fill(r.pick(TEMPLATES[entity]), [{ value: GENERATORS[entity].valid(r), entity }]), kind: "positive" });
    }
    for (let i = 0; i < (opts.nearMissesPerKind ?? 250); i++) {
      out.push({ ...fill(r.pick(TEMPLATES[entity]), [{ value: GENERATORS[entity].nearMiss(r), entity }]), kind: "near_miss", imitates: entity });
    }
  }
  for (let i = 0; i < (opts.mixed ?? 400); i++) {
    const first = r.pick(KINDS);
    let second = r.pick(KINDS);
    if (second === first) second = KINDS[(KINDS.indexOf(first) + 1) % KINDS.length]!;
    const join = r.pick(["{} and also {}", "Details: {}; backup: {}.", "{}\n{}", "From {} (see {})", "{}, {} and a near miss {}"]);
    const third = r.pick(KINDS);
    const parts = [
      { value: GENERATORS[first].valid(r), entity: first },
      { value: GENERATORS[second].valid(r), entity: second },
      { value: GENERATORS[third].nearMiss(r), entity: third },
    ];
    out.push({ ...fill(join, parts.slice(0, join.split("{}").length - 1)), kind: "positive" });
  }
  for (let i = 0; i < (opts.negatives ?? 500); i++) out.push({ text: r.pick(NEGATIVES)(r), spans: [], kind: "negative" });
  return out;
}
