import fc from "fast-check";
import { describe, it } from "vitest";
import { createMemoryState } from "../store/state/memory-state.js";
import type { StateBackend } from "../store/state/state-backend.js";
import { budgetOpsArbitrary, runBudgetModel, runBudgetReservationContract } from "./budget-reservation.contract.js";

runBudgetReservationContract("memory", (now) => {
  const state = createMemoryState({ now });
  return { connect: () => state, dispose: () => state.close() };
});

describe("budget reservations: memory, scheduled interleavings", () => {
  it("keeps the books exact whatever order concurrent state calls run in (property, fc.scheduler)", async () => {
    const now = Date.parse("2026-11-29T12:00:00Z");
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), budgetOpsArbitrary, async (s, ops) => {
        const state = createMemoryState({ now: () => now });
        // Every counter write runs when the scheduler picks it, so concurrent operations'
        // steps interleave in every order fast-check explores (reads stay immediate).
        const scheduled = (inner: StateBackend): StateBackend => ({
          ...inner,
          reserve: s.scheduleFunction(inner.reserve),
          release: s.scheduleFunction(inner.release),
          reserveHold: s.scheduleFunction(inner.reserveHold),
          settleHold: s.scheduleFunction(inner.settleHold),
        });
        try {
          await s.waitFor(runBudgetModel({ connect: () => state, dispose: () => state.close() }, { now: () => now }, ops, scheduled));
        } finally {
          await state.close();
        }
      }),
      { numRuns: 150 },
    );
  });
});
