// Proves scripts/vitest-counts.ts counts what breaks outside a test as failed, so scripts/test.sh's
// closing line cannot read "0 failed" (or hide the breakage behind another failure) while vitest
// exits 1: each fixture runs in a child vitest with the reporter.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import type { TestModule } from "vitest/node";
import CountsReporter from "./vitest-counts.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const tmp = mkdtempSync(path.join(tmpdir(), "vitest-counts-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs one fixture under the reporter; returns vitest's exit status and the `P F S` it wrote. */
function run(fixture: string): { status: number | null; counts: string } {
  const file = path.join(tmp, `${fixture}.counts`);
  const args = ["run", "--root", ROOT, "--config", "scripts/vitest-counts-fixtures/vitest.config.ts", "--reporter=./scripts/vitest-counts.ts"];
  const child = spawnSync(path.join(ROOT, "node_modules", ".bin", "vitest"), args, {
    cwd: ROOT,
    env: { ...process.env, FIXTURE: fixture, VITEST_COUNTS_FILE: file },
    stdio: "ignore",
    timeout: 60_000,
  });
  return { status: child.status, counts: readFileSync(file, "utf8").trim() };
}

describe("scripts/vitest-counts.ts", () => {
  it.each([
    ["mixed", "1 1 0", "passed and failed tests as they are"],
    ["before-all-throws", "0 2 0", "the tests a throwing beforeAll left unrun as failed, not skipped"],
    ["does-not-load", "0 1 0", "a file that does not load as one failure"],
    // Two tests that never finished, and the worker's exit (an error outside any test).
    ["worker-dies", "0 4 0", "the tests a dead worker never finished, and its death, as failed"],
  ])("%s: %s (%s)", (fixture, counts) => {
    const result = run(fixture);
    expect(result.counts).toBe(counts);
    expect(result.status).toBe(1);
  });
});

describe("scripts/vitest-counts.ts, given the run's modules", () => {
  // No test of the suite is skipped (CI runs every one), so skipped results are built here.
  const module = (state: string, tests: string[]) =>
    ({ state: () => state, children: { allTests: () => tests.map((s) => ({ result: () => ({ state: s }) })) } }) as unknown as TestModule;
  const counts = (modules: TestModule[], reason: "passed" | "failed") => {
    const file = path.join(tmp, `direct-${reason}-${modules.length}.counts`);
    const before = process.env.VITEST_COUNTS_FILE;
    process.env.VITEST_COUNTS_FILE = file;
    try {
      new CountsReporter().onTestRunEnd(modules, [], reason);
    } finally {
      if (before === undefined) delete process.env.VITEST_COUNTS_FILE;
      else process.env.VITEST_COUNTS_FILE = before;
    }
    return readFileSync(file, "utf8").trim();
  };

  it("counts a skipped test of a module that ran as skipped, and one a failed module left unrun as failed", () => {
    expect(counts([module("passed", ["passed", "skipped"])], "passed")).toBe("1 0 1");
    expect(counts([module("failed", ["skipped", "skipped"]), module("passed", ["passed"])], "failed")).toBe("1 2 0");
  });
});

