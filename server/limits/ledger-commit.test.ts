import { describe, expect, it } from "vitest";
import { createLogCapture } from "../../test/support/log-capture.js";
import type { UsageRecordRow } from "../store/usage-store.js";
import { commitLedgerBatch } from "./ledger-commit.js";
import { ledgerRecord, memoryLedgerStore } from "./ledger-testing.js";

describe("commitLedgerBatch", () => {
  // Postgres refuses the batch for one row's content, then fails the row-by-row retry of a good row
  // for a reason that is not the row's (a statement timeout, a connection dropped), while the
  // dead-letter table still answers. That row is not refused: it must be retried, never
  // dead-lettered, or the ledger loses a good record (P3).
  it("rejects, and dead-letters nothing for it, when a row's own insert fails for a reason other than its content", async () => {
    const store = memoryLedgerStore();
    let timeouts = 1;
    const flaky = {
      insertBatch: async (rows: readonly UsageRecordRow[]) => {
        if (rows.length === 1 && rows[0]!.callId === "good" && timeouts-- > 0) throw Object.assign(new Error("canceling statement due to statement timeout"), { code: "57014" });
        return store.insertBatch(rows);
      },
      deadLetter: store.deadLetter,
    };
    const batch = [ledgerRecord({ callId: "poison", inputTokens: -1 }), ledgerRecord({ callId: "good" })];
    const deps = { store: flaky, logger: createLogCapture().logger };
    await expect(commitLedgerBatch(deps, batch, "refused")).rejects.toThrow(/statement timeout/);
    expect(store.deadLetters.map((d) => JSON.parse(d.record).callId)).toEqual(["poison"]);
    // The caller retries the batch: the good row commits.
    await commitLedgerBatch(deps, batch, "refused");
    expect([...store.rows.keys()]).toEqual(["good/1"]);
    expect(store.deadLetters.map((d) => JSON.parse(d.record).callId)).toEqual(["poison", "poison"]);
  });
});
