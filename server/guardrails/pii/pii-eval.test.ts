/**
 * PII detection quality (P22) on the whole labelled corpus: the hand-written snippets of
 * `pii-corpus.json` plus the synthetic, Presidio-style corpus of `corpus/generate-corpus.ts`
 * (6 150 seeded snippets: valid values in the forms people write them, near misses with wrong
 * check digits or impossible SSNs, mixed sentences, and sentences without PII). A detected span
 * counts as a true positive only when kind, start and end all match a label. The README's table
 * comes from this test's output (`npx vitest run server/guardrails/pii/pii-eval.test.ts`).
 */
import { describe, expect, it } from "vitest";
import corpus from "./pii-corpus.json" with { type: "json" };
import { generatePiiCorpus, type CorpusSnippet } from "./corpus/generate-corpus.js";
import { detectPii } from "./detect-pii.js";
import { PII_ENTITIES, type PiiEntityName, type PiiSpan } from "./pii-types.js";

interface Snippet {
  text: string;
  spans: PiiSpan[];
}
interface Row {
  tp: number;
  fp: number;
  fn: number;
}

const handWritten = corpus.snippets as Snippet[];
const generated = generatePiiCorpus();
const key = (s: PiiSpan) => `${s.entity}:${s.start}:${s.end}`;
const ratio = (a: number, b: number) => (b === 0 ? 1 : a / b);

function evaluate(snippets: readonly Snippet[]) {
  const rows = new Map<PiiEntityName, Row>(PII_ENTITIES.map((e) => [e, { tp: 0, fp: 0, fn: 0 }]));
  const misses: string[] = [];
  for (const s of snippets) {
    const expected = new Set(s.spans.map(key));
    const found = detectPii(s.text);
    for (const f of found) {
      const row = rows.get(f.entity)!;
      if (expected.has(key(f))) row.tp++;
      else {
        row.fp++;
        misses.push(`false ${f.entity}: ${JSON.stringify(s.text.slice(f.start, f.end))} in ${JSON.stringify(s.text)}`);
      }
    }
    const got = new Set(found.map(key));
    for (const e of s.spans) {
      if (got.has(key(e))) continue;
      rows.get(e.entity)!.fn++;
      misses.push(`missed ${e.entity}: ${JSON.stringify(s.text.slice(e.start, e.end))} in ${JSON.stringify(s.text)}`);
    }
  }
  return { rows, misses };
}

function table(rows: ReadonlyMap<PiiEntityName, Row>, nearMisses: ReadonlyMap<PiiEntityName, number>): string {
  const lines = ["| entity | labelled | near misses | found | false positives | missed | precision | recall |", "|---|---|---|---|---|---|---|---|"];
  let all = { tp: 0, fp: 0, fn: 0, near: 0 };
  for (const [entity, r] of rows) {
    const near = nearMisses.get(entity) ?? 0;
    lines.push(`| ${entity} | ${r.tp + r.fn} | ${nearMisses.size === 0 ? "—" : near} | ${r.tp} | ${r.fp} | ${r.fn} | ${ratio(r.tp, r.tp + r.fp).toFixed(3)} | ${ratio(r.tp, r.tp + r.fn).toFixed(3)} |`);
    all = { tp: all.tp + r.tp, fp: all.fp + r.fp, fn: all.fn + r.fn, near: all.near + near };
  }
  lines.push(`| all | ${all.tp + all.fn} | ${nearMisses.size === 0 ? "—" : all.near} | ${all.tp} | ${all.fp} | ${all.fn} | ${ratio(all.tp, all.tp + all.fp).toFixed(3)} | ${ratio(all.tp, all.tp + all.fn).toFixed(3)} |`);
  return lines.join("\n");
}

/** Near-miss snippets per kind they imitate. */
function nearMissCounts(snippets: readonly CorpusSnippet[]): Map<PiiEntityName, number> {
  const counts = new Map<PiiEntityName, number>();
  for (const s of snippets) if (s.imitates !== undefined) counts.set(s.imitates, (counts.get(s.imitates) ?? 0) + 1);
  return counts;
}

describe("the synthetic corpus", () => {
  it("is deterministic: the same seed gives the same snippets, another seed different ones", () => {
    const again = generatePiiCorpus();
    expect(again).toEqual(generated);
    expect(generatePiiCorpus({ seed: 23 }).map((s) => s.text)).not.toEqual(generated.map((s) => s.text));
  });

  it("has ≥ 5 000 snippets, every kind with ≥ 500 labelled values and ≥ 200 near misses, and ≥ 500 with no PII", () => {
    expect(generated.length).toBeGreaterThanOrEqual(5_000);
    const near = nearMissCounts(generated);
    for (const e of PII_ENTITIES) {
      expect(generated.reduce((n, s) => n + s.spans.filter((x) => x.entity === e).length, 0), e).toBeGreaterThanOrEqual(500);
      expect(near.get(e), e).toBeGreaterThanOrEqual(200);
    }
    expect(generated.filter((s) => s.spans.length === 0).length).toBeGreaterThanOrEqual(500);
    // Labels point at real text: no empty or out-of-range span.
    for (const s of generated) for (const x of s.spans) expect(x.end > x.start && x.end <= s.text.length, s.text).toBe(true);
  });
});

describe("PII detection quality (labelled corpus)", () => {
  it("the hand-written corpus has at least 200 labelled spans across every kind, and near misses", () => {
    const spans = handWritten.reduce((n, s) => n + s.spans.length, 0);
    expect(spans).toBeGreaterThanOrEqual(200);
    for (const e of PII_ENTITIES) expect(handWritten.some((s) => s.spans.some((x) => x.entity === e))).toBe(true);
    expect(handWritten.filter((s) => s.spans.length === 0).length).toBeGreaterThanOrEqual(50);
  });

  it("meets P22 on the whole corpus: recall ≥ 0.99 for cards and IBANs, ≥ 0.95 for email, phone and SSN; precision ≥ 0.95 (table printed)", () => {
    const started = performance.now();
    const whole = evaluate([...handWritten, ...generated]);
    const elapsed = performance.now() - started;
    const hand = evaluate(handWritten);
    const near = nearMissCounts(generated);
    console.log(
      `\nPII detection on ${handWritten.length + generated.length} snippets (${handWritten.length} hand-written + ${generated.length} generated), ${elapsed.toFixed(0)} ms:\n` +
        `${table(whole.rows, near)}\n\nhand-written only:\n${table(hand.rows, new Map())}\n${whole.misses.length ? `\n${whole.misses.slice(0, 50).join("\n")}\n` : ""}`,
    );
    const recall = (e: PiiEntityName) => ratio(whole.rows.get(e)!.tp, whole.rows.get(e)!.tp + whole.rows.get(e)!.fn);
    const precision = (e: PiiEntityName) => ratio(whole.rows.get(e)!.tp, whole.rows.get(e)!.tp + whole.rows.get(e)!.fp);
    expect(recall("CREDIT_CARD")).toBeGreaterThanOrEqual(0.99);
    expect(recall("IBAN")).toBeGreaterThanOrEqual(0.99);
    for (const e of ["EMAIL", "PHONE", "US_SSN"] as const) expect(recall(e), e).toBeGreaterThanOrEqual(0.95);
    for (const e of PII_ENTITIES) expect(precision(e), e).toBeGreaterThanOrEqual(0.95);
    expect(elapsed).toBeLessThan(10_000);
  });
});
