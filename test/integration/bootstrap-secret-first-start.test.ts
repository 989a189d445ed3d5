import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, describe, expect, it } from "vitest";
import { KeyService } from "../../gen/ts/switchboard/v1/key_service_pb.js";
import { bannerKey, startMain, waitListening, type MainProcess } from "../support/main-process.js";

const running: MainProcess[] = [];
const folders: string[] = [];
const servers: Server[] = [];
afterAll(() => {
  for (const r of running) r.child.kill("SIGKILL");
  for (const f of folders) rmSync(f, { recursive: true, force: true });
  for (const s of servers) s.close();
});

// README: the first start prints the generated bootstrap admin key once. A first `npm start` that
// fails after the key was committed but before the banner — its port taken (EADDRINUSE) — left a
// key whose secret was never shown; every later start finds a key and prints none, and
// SWITCHBOARD_BOOTSTRAP_KEY applies only to a database without keys: no one can administer it.
describe("a first start that fails after creating the bootstrap key", () => {
  it("still lets the next start hand out an admin key", async () => {
    const base = mkdtempSync(join(tmpdir(), "sb-first-start-"));
    folders.push(base);
    const dataDir = join(base, "pglite");
    const taken = createServer();
    servers.push(taken);
    await new Promise<void>((r) => taken.listen(0, "127.0.0.1", r));
    const port = (taken.address() as { port: number }).port;

    const first = startMain({ SWITCHBOARD_DATA_DIR: dataDir, SWITCHBOARD_PORT: String(port) });
    running.push(first);
    expect(await first.exited).toBe(1);
    expect(first.stderr()).toContain("EADDRINUSE");

    const second = startMain({ SWITCHBOARD_DATA_DIR: dataDir });
    running.push(second);
    const url = await waitListening(second, 60_000);
    // Whichever start showed it: a secret that administers the gateway.
    const key = bannerKey(first) ?? bannerKey(second);
    expect(key, `first start:\n${first.stderr()}\nsecond start:\n${second.stderr()}`).toBeDefined();
    const keys = createClient(KeyService, createGrpcTransport({ baseUrl: url }));
    const names = (await keys.listKeys({ parent: "orgs/system/teams/-" }, { headers: { authorization: `Bearer ${key}` } })).keys.map((k) => k.name);
    expect(names).toContain("orgs/system/teams/admins/keys/bootstrap");
  }, 120_000);
});
