/**
 * The real entry point (`server/main.ts`) on SIGTERM.
 *
 * 1. P16 ("the process exits within drain + 5 s") with Postgres hung (a frozen peer, as SIGSTOP
 *    or a partition): the drain of in-flight requests is bounded by shutdownGraceMs, but the
 *    steps after it (audit checkpoint, ledger flush, pool end) wait on Postgres with no bound.
 * 2. P3 at a drain's end: a stream still running when the grace period ends is cut; its usage
 *    record must still be buffered (or committed), never dropped because the ledger was closed first.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { generateSecret } from "../../server/auth/key-format.js";
import type { FakeProvider } from "../fakes/fake-types.js";
import { startOpenAIFake } from "../fakes/openai-fake.js";
import { startMain, waitListening, type MainProcess } from "../support/main-process.js";
import { chatMessage, createAppKey, moneyClients } from "../support/money.js";
import { createTestDatabase, withClient, type TestDatabase } from "../support/postgres.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";

const GRACE_MS = 500;
const running: MainProcess[] = [];
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const r of running) r.child.kill("SIGKILL");
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

function baseEnv(databaseUrl: string, fake: FakeProvider, ledgerDir: string): { env: Record<string, string>; adminKey: string } {
  const adminKey = generateSecret();
  const dir = mkdtempSync(join(tmpdir(), "sb-shutdown-cfg-"));
  const config = join(dir, "config.yaml");
  writeFileSync(
    config,
    ["routes:", "  paid:", "    targets: [{ provider: openai, model: gpt-test, credential: credentials/openai }]", "    retry: { maxAttempts: 1 }", ""].join("\n"),
  );
  return {
    adminKey,
    env: {
      DATABASE_URL: databaseUrl,
      SWITCHBOARD_KEY_PEPPER: "test-shutdown-pepper-0123456789abcdef-0123",
      SWITCHBOARD_MASTER_KEY: randomBytes(32).toString("base64"),
      SWITCHBOARD_BOOTSTRAP_KEY: adminKey,
      SWITCHBOARD_SHUTDOWN_GRACE_MS: String(GRACE_MS),
      SWITCHBOARD_CONFIG: config,
      SWITCHBOARD_CREDENTIAL_OPENAI: "sk-test",
      SWITCHBOARD_BASE_URL_OPENAI: `${fake.url}/v1`,
      SWITCHBOARD_LEDGER_DIR: ledgerDir,
      SWITCHBOARD_LOG_BATCH_MS: "0",
    },
  };
}

/** Resolves the exit code, or "still running" after `ms`. */
function exitWithin(run: MainProcess, ms: number): Promise<number | null | "still running"> {
  return Promise.race([run.exited, new Promise<"still running">((r) => setTimeout(() => r("still running"), ms))]);
}

describe("main.ts SIGTERM", () => {
  let database: TestDatabase;
  let fake: FakeProvider;

  it("exits within grace + 5 s when Postgres hangs at shutdown (P16)", async () => {
    database = await createTestDatabase();
    cleanups.push(() => database.drop());
    fake = await startOpenAIFake();
    cleanups.push(() => fake.close());
    const target = new URL(database.url);
    const proxy: TcpProxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) });
    cleanups.push(() => proxy.close());
    const ledgerDir = mkdtempSync(join(tmpdir(), "sb-shutdown-ledger-"));
    const { env, adminKey } = baseEnv(proxy.rewrite(database.url), fake, ledgerDir);
    const run = startMain(env);
    running.push(run);
    const url = await waitListening(run);
    const admin = moneyClients(url, adminKey);
    const key = await createAppKey(admin, "acme");
    const app = moneyClients(url, key.secret);
    await app.verbs.chat({ options: { route: "paid", maxOutputTokens: 20 }, messages: chatMessage("before the freeze") });

    await proxy.setMode("blackhole");
    // Answered from the key cache while Postgres is frozen: its record waits in the buffer.
    await app.verbs.chat({ options: { route: "paid", maxOutputTokens: 20 }, messages: chatMessage("during the freeze") });
    const t0 = Date.now();
    run.child.kill("SIGTERM");
    const outcome = await exitWithin(run, GRACE_MS + 5_000 + 3_000);
    const tookMs = Date.now() - t0;
    // Let the process go (and its connections) before the database is dropped.
    run.child.kill("SIGKILL");
    await run.exited;
    await proxy.setMode("forward");
    expect(outcome).not.toBe("still running");
    expect(tookMs).toBeLessThanOrEqual(GRACE_MS + 5_000);
    // Nothing acknowledged is lost: the next start replays the buffer.
    const again = startMain(env);
    running.push(again);
    await waitListening(again);
    let rows = 0;
    for (let i = 0; i < 100 && rows < 2; i++) {
      rows = await withClient(database.url, async (c) => Number((await c.query<{ n: string }>("select count(*) as n from usage_records")).rows[0]!.n));
      if (rows < 2) await new Promise((r) => setTimeout(r, 100));
    }
    again.child.kill("SIGTERM");
    expect(await again.exited).toBe(0);
    expect(rows).toBe(2);
  }, 60_000);

  it("buffers the usage record of a stream cut at the end of the grace period (P3)", async () => {
    const db = await createTestDatabase();
    cleanups.push(() => db.drop());
    const ledgerDir = mkdtempSync(join(tmpdir(), "sb-shutdown-ledger-"));
    const { env, adminKey } = baseEnv(db.url, fake, ledgerDir);
    const run = startMain(env);
    running.push(run);
    const url = await waitListening(run);
    const admin = moneyClients(url, adminKey);
    const key = await createAppKey(admin, "acme");
    const app = moneyClients(url, key.secret);
    await app.verbs.chat({ options: { route: "paid", maxOutputTokens: 20 }, messages: chatMessage("warm") });
    fake.reset();
    // A stream far longer than the grace period: the drain cuts it.
    fake.script({ fault: { kind: "slow_drip", delayMs: 100 }, reply: { text: "word ".repeat(200) } });
    const events: unknown[] = [];
    const stream = (async () => {
      for await (const res of app.verbs.chatStream({ options: { route: "paid" }, messages: chatMessage("long answer") })) events.push(res.event);
    })().catch((err: unknown) => err);
    while (events.length < 2) await new Promise((r) => setTimeout(r, 20));
    run.child.kill("SIGTERM");
    expect(await exitWithin(run, 20_000)).toBe(0);
    await stream;
    expect(fake.requests().length).toBe(1);
    // The stream's record is committed, or left in the buffer folder for the next start.
    const all = await withClient(db.url, async (c) => (await c.query<{ route: string; attempt: number }>("select route, attempt from usage_records")).rows);
    const buffered = readdirSync(ledgerDir)
      .filter((n) => n.endsWith(".jsonl"))
      .flatMap((n) => readFileSync(join(ledgerDir, n), "utf8").split("\n").filter((l) => l !== ""));
    const lost = /usage records could not be buffered/.test(run.stdout());
    // The warm-up call's row, plus the cut stream's (in Postgres or in the buffer).
    expect({ rows: all.length + buffered.length, lostLogged: lost }).toEqual({ rows: 2, lostLogged: false });
  }, 60_000);
});
