/**
 * The embedded default's usage-ledger buffer belongs to its data folder. Its default place is
 * `ledger` beside `database.dataDir` ("so a fresh data folder never replays another's buffer",
 * server/main.ts); two data folders side by side then share one buffer folder.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import { afterAll, describe, expect, it } from "vitest";
import { createDatabase } from "../../server/store/database.js";
import { bannerKey, startMain, waitListening, type MainProcess } from "../support/main-process.js";
import { chatMessage, createAppKey, moneyClients } from "../support/money.js";

const running: MainProcess[] = [];
const folders: string[] = [];
afterAll(() => {
  for (const r of running) r.child.kill("SIGKILL");
  for (const f of folders) rmSync(f, { recursive: true, force: true });
});

/** The request ids of `usage_records` in the embedded database at `dataDir` (no gateway on it). */
async function ledgerRequestIds(dataDir: string): Promise<string[]> {
  const handle = await createDatabase({ dataDir });
  try {
    const { rows } = await sql<{ request_id: string }>`select request_id from usage_records`.execute(handle.db);
    return rows.map((r) => r.request_id);
  } finally {
    await handle.close();
  }
}

describe("two embedded data folders side by side", () => {
  it("a crash's unflushed usage records are replayed into their own database, not the sibling's", async () => {
    const base = mkdtempSync(join(tmpdir(), "sb-siblings-"));
    folders.push(base);
    const prod = join(base, "prod");
    const staging = join(base, "staging");
    // A flush interval long enough that the records of the calls below are still in the buffer at the kill.
    const env = { SWITCHBOARD_LEDGER_FLUSH_INTERVAL_MS: "60000" };

    const a = startMain({ ...env, SWITCHBOARD_DATA_DIR: prod });
    running.push(a);
    const urlA = await waitListening(a, 60_000);
    const adminKey = bannerKey(a)!;
    const app = await createAppKey(moneyClients(urlA, adminKey), "acme");
    const billed: string[] = [];
    for (let i = 0; i < 5; i++) {
      const id = randomUUID();
      await moneyClients(urlA, app.secret).verbs.chat({ options: { route: "fast", maxOutputTokens: 16 }, messages: chatMessage("hi") }, { headers: { "x-request-id": id } });
      billed.push(id);
    }
    a.child.kill("SIGKILL");
    await a.exited;

    // Another gateway, on another (fresh) data folder next to the first: its own database.
    const b = startMain({ ...env, SWITCHBOARD_DATA_DIR: staging });
    running.push(b);
    await waitListening(b, 60_000);
    b.child.kill("SIGTERM");
    expect(await b.exited).toBe(0);

    // The first gateway restarts on its folder and replays what the crash left.
    const again = startMain({ ...env, SWITCHBOARD_DATA_DIR: prod });
    running.push(again);
    await waitListening(again, 60_000);
    again.child.kill("SIGTERM");
    expect(await again.exited).toBe(0);

    const inProd = await ledgerRequestIds(prod);
    const inStaging = await ledgerRequestIds(staging);
    expect({
      missingFromProd: billed.filter((id) => !inProd.includes(id)),
      foreignInStaging: billed.filter((id) => inStaging.includes(id)),
      folders: readdirSync(base).sort(),
    }).toEqual({ missingFromProd: [], foreignInStaging: [], folders: expect.any(Array) });
  }, 180_000);
});
