/**
 * One line of the soak's summary: a property, the figure measured, and whether it held.
 */
export interface PropertyRow {
  /** `P1`, `P2/P3`, … as in RELIABILITY.md §6. */
  id: string;
  /** What was checked, in a few words. */
  name: string;
  figure: string;
  status: "pass" | "fail";
  /** On failure: the first offending operations or keys, for the report. */
  evidence?: string[];
}

/** A row that passes when `ok`. */
export function row(id: string, name: string, figure: string, ok: boolean, evidence: string[] = []): PropertyRow {
  return { id, name, figure, status: ok ? "pass" : "fail", ...(ok || evidence.length === 0 ? {} : { evidence: evidence.slice(0, 10) }) };
}

/** The summary table, one property per line. */
export function formatTable(rows: readonly PropertyRow[]): string {
  const head = ["property", "what", "figure", "result"];
  const body = rows.map((r) => [r.id, r.name, r.figure, r.status.toUpperCase()]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  const out = [line(head), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...body.map(line)];
  for (const r of rows) {
    if (r.evidence !== undefined) out.push(`  ${r.id} evidence:`, ...r.evidence.map((e) => `    ${e}`));
  }
  return out.join("\n");
}
