import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { bannerKey, listeningUrl, startMain, waitListening, type MainProcess } from "../support/main-process.js";

const running: MainProcess[] = [];
const folders: string[] = [];
afterAll(() => {
  for (const r of running) r.child.kill("SIGKILL");
  for (const f of folders) rmSync(f, { recursive: true, force: true });
});

// The embedded default keeps its pepper in <dataDir>/pepper. When that file was gone on a later
// start (deleted, left out of a backup, or the first start had SWITCHBOARD_KEY_PEPPER set and this
// one not), a new pepper was generated without a word: every stored key — the bootstrap admin key
// included — stopped working, and nothing let an admin back in (the break-glass installs a key
// only when no admin key is active, and these still are, unusable as they are).
describe("the embedded default whose pepper file is missing while its database holds keys", () => {
  it("refuses to start (exit 2) naming the file, instead of generating a pepper no key matches", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "sb-pepper-"));
    folders.push(dataDir);
    const first = startMain({ SWITCHBOARD_DATA_DIR: dataDir });
    running.push(first);
    await waitListening(first, 60_000);
    expect(bannerKey(first)).toBeDefined();
    first.child.kill("SIGTERM");
    expect(await first.exited).toBe(0);

    rmSync(join(dataDir, "pepper"));
    const again = startMain({ SWITCHBOARD_DATA_DIR: dataDir });
    running.push(again);
    expect(await listeningUrl(again, 60_000)).toBeUndefined();
    expect(await again.exited).toBe(2);
    expect(again.stderr()).toContain(join(dataDir, "pepper"));
    expect(again.stderr()).toContain("SWITCHBOARD_KEY_PEPPER");
    // Nothing was generated in its place: restoring the file is still the way back.
    expect(existsSync(join(dataDir, "pepper"))).toBe(false);
  }, 120_000);
});
