/**
 * A vitest reporter for scripts/test.sh: writes `PASSED FAILED SKIPPED` to the file named by
 * VITEST_COUNTS_FILE when the run ends, for the closing `N passed, N failed, N skipped` line.
 *
 * Vitest's own totals leave out what broke outside a test, and the run still exits 1 for it, so
 * the line said "0 failed" or hid the breakage behind another failure:
 * - a test that never finished (its worker died — out of memory, a crash, a kill — or the run was
 *   interrupted) is left "pending": counted failed here;
 * - a file that failed with no failing test (it did not load, a beforeAll or afterAll threw: the
 *   tests a beforeAll left unrun are reported "skipped") counts its unrun tests as failed, or one
 *   failure when it has none;
 * - each error vitest caught outside any test (an unhandled rejection, a worker that exited)
 *   counts one failure.
 */
import { writeFileSync } from "node:fs";
import type { Reporter, SerializedError, TestModule, TestRunEndReason } from "vitest/node";

export default class CountsReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError>, reason: TestRunEndReason): void {
    let passed = 0;
    let failed = unhandledErrors.length;
    let skipped = 0;
    for (const module of modules) {
      let moduleFailed = 0;
      let moduleSkipped = 0;
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === "passed") passed += 1;
        else if (state === "skipped") moduleSkipped += 1;
        else moduleFailed += 1; // "failed", or "pending": it never finished
      }
      const state = module.state();
      if (moduleFailed === 0 && state !== "passed" && state !== "skipped") {
        // Failed outside its tests, or never finished: what it left unrun did not pass.
        moduleFailed = Math.max(1, moduleSkipped);
        moduleSkipped = 0;
      }
      failed += moduleFailed;
      skipped += moduleSkipped;
    }
    if (reason !== "passed" && failed === 0) failed = 1;
    const file = process.env.VITEST_COUNTS_FILE;
    if (file) writeFileSync(file, `${passed} ${failed} ${skipped}\n`);
  }
}
