/**
 * PII detection quality (P22) on the labelled corpus in `pii-corpus.json`: hand-written snippets
 * with valid values and near misses (Luhn-invalid cards, wrong IBAN check digits, SSNs with
 * invalid areas, dates, versions, order numbers, look-alike key prefixes). A detected span counts
 * as a true positive only when kind, start and end all match a label. The README's table comes
 * from this test's output (`npx vitest run server/guardrails/pii/pii-eval.test.ts`).
 */
import { describe, expect, it } from "vitest";
import corpus from "./pii-corpus.json" with { type: "json" };
import { detectPii } from "./detect-pii.js";
import { PII_ENTITIES, type PiiEntityName, type PiiSpan } from "./pii-types.js";

interface Snippet {
  text: string;
  spans: PiiSpan[];
}

const snippets = corpus.snippets as Snippet[];
const key = (s: PiiSpan) => `${s.entity}:${s.start}:${s.end}`;

function evaluate() {
  const rows = new Map<PiiEntityName, { tp: number; fp: number; fn: number }>(PII_ENTITIES.map((e) => [e, { tp: 0, fp: 0, fn: 0 }]));
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
      misses.push(`missed ${e.entity}: ${JSON.stringify(s.text.slice(e.start, e.end))}`);
    }
  }
  return { rows, misses };
}

describe("PII detection quality (labelled corpus)", () => {
  const { rows, misses } = evaluate();
  const ratio = (a: number, b: number) => (b === 0 ? 1 : a / b);

  it("has at least 200 labelled spans across every kind, and near misses", () => {
    const spans = snippets.reduce((n, s) => n + s.spans.length, 0);
    expect(spans).toBeGreaterThanOrEqual(200);
    for (const e of PII_ENTITIES) expect(snippets.some((s) => s.spans.some((x) => x.entity === e))).toBe(true);
    expect(snippets.filter((s) => s.spans.length === 0).length).toBeGreaterThanOrEqual(50);
  });

  it("meets P22: recall ≥ 0.99 for cards and IBANs, ≥ 0.95 for email, phone and SSN; precision ≥ 0.95 (table printed)", () => {
    const lines = ["| entity | labelled | found | false positives | missed | precision | recall |", "|---|---|---|---|---|---|---|"];
    let all = { tp: 0, fp: 0, fn: 0 };
    for (const [entity, r] of rows) {
      lines.push(`| ${entity} | ${r.tp + r.fn} | ${r.tp} | ${r.fp} | ${r.fn} | ${ratio(r.tp, r.tp + r.fp).toFixed(3)} | ${ratio(r.tp, r.tp + r.fn).toFixed(3)} |`);
      all = { tp: all.tp + r.tp, fp: all.fp + r.fp, fn: all.fn + r.fn };
    }
    lines.push(`| all | ${all.tp + all.fn} | ${all.tp} | ${all.fp} | ${all.fn} | ${ratio(all.tp, all.tp + all.fp).toFixed(3)} | ${ratio(all.tp, all.tp + all.fn).toFixed(3)} |`);
    console.log(`\nPII detection on ${snippets.length} snippets:\n${lines.join("\n")}\n${misses.length ? `\n${misses.join("\n")}\n` : ""}`);
    const recall = (e: PiiEntityName) => ratio(rows.get(e)!.tp, rows.get(e)!.tp + rows.get(e)!.fn);
    const precision = (e: PiiEntityName) => ratio(rows.get(e)!.tp, rows.get(e)!.tp + rows.get(e)!.fp);
    expect(recall("CREDIT_CARD")).toBeGreaterThanOrEqual(0.99);
    expect(recall("IBAN")).toBeGreaterThanOrEqual(0.99);
    for (const e of ["EMAIL", "PHONE", "US_SSN"] as const) expect(recall(e)).toBeGreaterThanOrEqual(0.95);
    for (const e of PII_ENTITIES) expect(precision(e), e).toBeGreaterThanOrEqual(0.95);
  });
});
