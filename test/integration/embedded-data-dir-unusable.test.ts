import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startMain, type MainProcess } from "../support/main-process.js";

const running: MainProcess[] = [];
const folders: string[] = [];
afterAll(() => {
  for (const r of running) r.child.kill("SIGKILL");
  for (const f of folders) rmSync(f, { recursive: true, force: true });
});

// When PGlite cannot use its folder — a full disk (ENOSPC), files it may not write (EACCES, e.g.
// left by a start as another user), a damaged folder — its file system throws Emscripten's
// ErrnoError, a plain object `{ name, errno }`. The start failed with exit code 1 and
// `switchboard: failed to start: [object Object]`: no folder, no cause.
describe("the embedded default on a data folder PGlite cannot use", () => {
  it("exits 1 naming the folder and the system error, not [object Object]", async () => {
    const base = mkdtempSync(join(tmpdir(), "sb-unusable-"));
    folders.push(base);
    const dataDir = join(base, "pglite");
    mkdirSync(dataDir);
    // A file where PGlite creates a folder (ENOTDIR): stands in for ENOSPC / EACCES, which need a
    // small file system or another user to reproduce.
    writeFileSync(join(dataDir, "global"), "");
    const run = startMain({ SWITCHBOARD_DATA_DIR: dataDir });
    running.push(run);
    expect(await run.exited).toBe(1);
    expect(run.stderr()).not.toContain("[object Object]");
    expect(run.stderr()).toContain(dataDir);
    expect(run.stderr()).toContain("ENOTDIR");
  }, 60_000);
});
