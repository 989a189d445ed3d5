import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, describe, expect, it } from "vitest";
import { KeyService } from "../../gen/ts/switchboard/v1/key_service_pb.js";
import { bannerKey, listeningUrl, startMain, type MainProcess } from "../support/main-process.js";

async function keyNames(url: string, key: string): Promise<string[]> {
  const keys = createClient(KeyService, createGrpcTransport({ baseUrl: url }));
  const res = await keys.listKeys({ parent: "orgs/system/teams/-" }, { headers: { authorization: `Bearer ${key}` } });
  return res.keys.map((k) => k.name);
}

const running: MainProcess[] = [];
afterAll(() => {
  for (const r of running) r.child.kill("SIGKILL");
});

// The embedded default keeps Postgres (PGlite) in the process, on a folder: one process per folder.
// A second gateway on the same `database.dataDir` — following the ledger lock's own advice, "give
// every replica its own ledger.dir" — opened the same files as a second, independent Postgres:
// each saw only its own writes, and whatever the second acknowledged (keys, the usage ledger's
// rows, audit events) was gone once the first wrote over it.
describe("two gateways on one embedded data folder", () => {
  it("refuses the second at start, naming the folder, and the first keeps serving", async () => {
    const base = mkdtempSync(join(tmpdir(), "sb-two-gateways-"));
    const dataDir = join(base, "pglite");
    const first = startMain({ SWITCHBOARD_DATA_DIR: dataDir });
    running.push(first);
    const url1 = await listeningUrl(first);
    expect(url1, first.stderr()).toBeDefined();
    const key = bannerKey(first)!;
    expect(key).toBeDefined();

    const second = startMain({ SWITCHBOARD_DATA_DIR: dataDir, SWITCHBOARD_LEDGER_DIR: join(base, "ledger-2") });
    running.push(second);
    const url2 = await listeningUrl(second);
    if (url2 !== undefined) {
      // It started: show what that costs — a key it acknowledged, invisible to the first.
      const keys = createClient(KeyService, createGrpcTransport({ baseUrl: url2 }));
      await keys.createKey(
        { parent: "orgs/system/teams/admins", keyId: "via-second", key: { scopes: [] } },
        { headers: { authorization: `Bearer ${key}` } },
      ).catch((e: unknown) => Code[ConnectError.from(e).code]);
      const seenByFirst = await keyNames(url1!, key);
      expect.fail(`the second gateway started on the same data folder (${url2}); the first sees keys ${JSON.stringify(seenByFirst)}`);
    }
    expect(await second.exited).not.toBe(0);
    expect(second.stderr()).toContain(dataDir);
    expect(second.stderr()).toMatch(/in use by process \d+/);
    expect(await keyNames(url1!, key)).toContain("orgs/system/teams/admins/keys/bootstrap");
    first.child.kill("SIGTERM");
    expect(await first.exited).toBe(0);
  }, 90_000);
});
