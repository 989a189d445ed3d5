// Proves scripts/vitest-counts.ts counts what breaks outside a test as failed, so scripts/test.sh's
// closing line cannot read "0 failed" (or hide the breakage behind another failure) while vitest
// exits 1: each fixture runs in a child vitest with the reporter.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

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
    ["mixed", "1 1 1", "passed, failed and skipped tests as they are"],
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
