import { describe, expect, it } from "vitest";
import { formatTable, row } from "./property-row.js";

describe("soak summary rows", () => {
  it("keeps the first ten pieces of evidence of a failing row only, and prints them under the table", () => {
    const evidence = Array.from({ length: 12 }, (_, i) => `op-${i}`);
    const failed = row("P6", "no Redis key without a TTL", "2 of 9 keys immortal", false, evidence);
    expect(failed).toEqual({ id: "P6", name: "no Redis key without a TTL", figure: "2 of 9 keys immortal", status: "fail", evidence: evidence.slice(0, 10) });
    expect(row("P6", "no Redis key without a TTL", "0 of 9 keys immortal", true, evidence)).toEqual({ id: "P6", name: "no Redis key without a TTL", figure: "0 of 9 keys immortal", status: "pass" });
    const table = formatTable([row("P1", "spend ≤ cap", "ledger 3000 µ$", true), failed]).split("\n");
    expect(table.slice(0, 4)).toEqual([
      "| property | what                       | figure               | result |",
      "|----------|----------------------------|----------------------|--------|",
      "| P1       | spend ≤ cap                | ledger 3000 µ$       | PASS   |",
      "| P6       | no Redis key without a TTL | 2 of 9 keys immortal | FAIL   |",
    ]);
    expect(table.slice(4)).toEqual(["  P6 evidence:", ...evidence.slice(0, 10).map((e) => `    ${e}`)]);
  });
});
