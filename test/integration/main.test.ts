import { randomBytes } from "node:crypto";
import { mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import pg from "pg";
import { afterAll, describe, expect, it, vi } from "vitest";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/ts/grpc/health/v1/health_pb.js";
import { CredentialService } from "../../gen/ts/switchboard/v1/credential_service_pb.js";
import { KeyService } from "../../gen/ts/switchboard/v1/key_service_pb.js";
import { generateSecret } from "../../server/auth/key-format.js";
import { bannerKey, startMain, waitListening, type MainProcess } from "../support/main-process.js";
import { createTestDatabase } from "../support/postgres.js";
import { requireEnv } from "../support/require-env.js";

/** Lists the bootstrap org's keys with `key`: the code, or "ok". */
async function listWith(url: string, key: string): Promise<string> {
  const keys = createClient(KeyService, createGrpcTransport({ baseUrl: url }));
  return keys.listKeys({ parent: "orgs/system/teams/-" }, { headers: { authorization: `Bearer ${key}` } }).then(
    () => "ok",
    (e: unknown) => Code[ConnectError.from(e).code],
  );
}

async function checkServing(url: string): Promise<HealthCheckResponse_ServingStatus> {
  const health = createClient(Health, createGrpcTransport({ baseUrl: url }));
  return (await health.check({})).status;
}

const running: MainProcess[] = [];
afterAll(() => {
  for (const r of running) r.child.kill("SIGKILL");
});

describe("server/main.ts", () => {
  it("refuses an invalid config, naming the exact path, with exit code 2", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sb-main-"));
    const file = join(dir, "switchboard.yaml");
    writeFileSync(file, "server:\n  prot: 9000\n");
    const run = startMain({ SWITCHBOARD_CONFIG: file, SWITCHBOARD_LOG_LEVEL: "loud" });
    running.push(run);
    expect(await run.exited).toBe(2);
    expect(run.stderr()).toContain('server.prot: unknown key "prot" (did you mean "port"?)');
    expect(run.stderr()).toContain('log.level: must be one of');
    expect(run.stderr()).toContain("(from SWITCHBOARD_LOG_LEVEL)");
  });

  it("starts on the embedded default, answers health, drains and exits 0 on SIGTERM", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "sb-pglite-"));
    const run = startMain({ SWITCHBOARD_DATA_DIR: dataDir });
    running.push(run);
    const url = await waitListening(run);
    // The banner is written before "listening" is logged, but on another pipe, read separately.
    await vi.waitFor(() => expect(run.stderr()).toContain(`buf curl --protocol grpc --http2-prior-knowledge ${url}/grpc.health.v1.Health/Check`), { timeout: 5_000 });
    expect(run.stderr()).toContain("embedded PGlite");
    expect(await checkServing(url)).toBe(HealthCheckResponse_ServingStatus.SERVING);
    // First start: a bootstrap admin key, printed once on stderr, never in the log; it works.
    const key = bannerKey(run);
    expect(key).toBeDefined();
    expect(run.stdout()).not.toContain(key!);
    expect(run.stdout()).toContain('"msg":"bootstrap admin key created"');
    expect(await listWith(url, key!)).toBe("ok");
    // The generated pepper and master key sit beside the data, readable by the owner only.
    expect(statSync(join(dataDir, "pepper")).mode & 0o777).toBe(0o600);
    expect(statSync(join(dataDir, "master-key")).mode & 0o777).toBe(0o600);
    run.child.kill("SIGTERM");
    expect(await run.exited).toBe(0);
    expect(run.stdout()).toContain('"msg":"draining"');
    expect(run.stdout()).toContain('"msg":"stopped"');
    // The audit chain head is exported at shutdown: the bootstrap left events (ListKeys did not).
    const checkpoint = run.stdout().split("\n").find((l) => l.includes('"msg":"audit checkpoint"'));
    expect(checkpoint, "an audit checkpoint line at shutdown").toMatch(/"auditCheckpoint":\{"sequence":"\d+","hash":"[0-9a-f]{64}"/);

    // A restart on the same folder reuses the pepper (the key still works) and prints no new key.
    const again = startMain({ SWITCHBOARD_DATA_DIR: dataDir });
    running.push(again);
    const url2 = await waitListening(again);
    expect(bannerKey(again)).toBeUndefined();
    expect(await listWith(url2, key!)).toBe("ok");
    again.child.kill("SIGTERM");
    expect(await again.exited).toBe(0);
  }, 90_000);

  it("refuses to start on Postgres without a pepper and a master key (exit code 2, naming the variables)", async () => {
    const run = startMain({ DATABASE_URL: "postgres://127.0.0.1:1/none" });
    running.push(run);
    expect(await run.exited).toBe(2);
    expect(run.stderr()).toContain("auth.pepper: required when database.url is set");
    expect(run.stderr()).toContain("SWITCHBOARD_KEY_PEPPER");
    expect(run.stderr()).toContain("vault.masterKey: required when database.url is set");
  });

  it("starts on Postgres and Redis, with its migrations applied", async () => {
    const redisUrl = requireEnv("REDIS_URL");
    const database = await createTestDatabase();
    try {
      const bootstrapKey = generateSecret();
      const masterKey = randomBytes(32).toString("base64");
      const base = {
        DATABASE_URL: database.url,
        REDIS_URL: redisUrl,
        SWITCHBOARD_KEY_PEPPER: "main-test-pepper-0123456789abcdef-0123",
        SWITCHBOARD_BOOTSTRAP_KEY: bootstrapKey,
      };
      const run = startMain({ ...base, SWITCHBOARD_MASTER_KEY: masterKey });
      running.push(run);
      const url = await waitListening(run);
      expect(run.stdout()).toContain('"database":"postgres","state":"redis"');
      expect(await checkServing(url)).toBe(HealthCheckResponse_ServingStatus.SERVING);
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      const tables = await client.query<{ table_name: string }>(
        "select table_name from information_schema.tables where table_schema = 'public'",
      );
      await client.end();
      expect(tables.rows.map((r) => r.table_name)).toEqual(expect.arrayContaining(["orgs", "teams", "keys"]));
      // The bootstrap key came from the environment: installed, working, and never printed.
      expect(run.stderr()).toContain("installed from SWITCHBOARD_BOOTSTRAP_KEY");
      expect(run.stderr() + run.stdout()).not.toContain(bootstrapKey);
      expect(await listWith(url, bootstrapKey)).toBe("ok");
      const credentials = createClient(CredentialService, createGrpcTransport({ baseUrl: url }));
      const value = "sk-main-test-0123456789abcdef";
      await credentials.createCredential({ credentialId: "openai", credential: { provider: "openai" }, value }, { headers: { authorization: `Bearer ${bootstrapKey}` } });
      run.child.kill("SIGTERM");
      expect(await run.exited).toBe(0);
      expect(run.stdout() + run.stderr()).not.toContain(masterKey);

      // Another master key cannot unwrap the stored credential: refused at start, naming the fix.
      const rotated = randomBytes(32).toString("base64");
      const wrongKey = startMain({ ...base, SWITCHBOARD_MASTER_KEY: rotated });
      running.push(wrongKey);
      expect(await wrongKey.exited).toBe(2);
      expect(wrongKey.stderr()).toContain("vault.masterKey: stored credentials are wrapped by master keys that are not configured");
      expect(wrongKey.stderr()).toContain("SWITCHBOARD_MASTER_KEY_PREVIOUS");
      // With the old key as the previous one it starts (the rotation's first step).
      const rotating = startMain({ ...base, SWITCHBOARD_MASTER_KEY: rotated, SWITCHBOARD_MASTER_KEY_PREVIOUS: masterKey });
      running.push(rotating);
      await waitListening(rotating);
      rotating.child.kill("SIGTERM");
      expect(await rotating.exited).toBe(0);
    } finally {
      await database.drop();
    }
  }, 60_000);
});
