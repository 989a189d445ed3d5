import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import { afterAll, describe, expect, it } from "vitest";
import { createDatabase } from "./database.js";

// README "Set-up: two commands": `npm ci && npm start` runs on the embedded default, whose data
// folder is `.data/pglite` — on a fresh clone neither `.data` nor `.data/pglite` exists.
describe("createDatabase with PGlite on a data folder whose parent does not exist yet", () => {
  const root = mkdtempSync(join(tmpdir(), "sb-datadir-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("creates the folder and its parents (the first `npm start` of a fresh clone)", async () => {
    const handle = await createDatabase({ dataDir: join(root, ".data", "pglite") });
    try {
      const { rows } = await sql<{ ok: number }>`select 1 as ok`.execute(handle.db);
      expect(rows).toEqual([{ ok: 1 }]);
    } finally {
      await handle.close();
    }
  }, 60_000);
});
