/**
 * External checkpoints of the audit chain (RELIABILITY §3.5, P21) on Postgres: the exporter
 * writes the signed head to the log, an append-only file and a webhook, periodically while the
 * head moves and at stop; `VerifyAuditChain` with those checkpoints passes on an untouched chain
 * and catches what the hash chain alone cannot — a superuser who rewrites the tail together with
 * the chain-head row, or cuts the tail off and moves the head back — and a forged checkpoint.
 */
import { once } from "node:events";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditCheckpointStatus } from "../../gen/ts/switchboard/v1/audit_service_pb.js";
import { chainHash } from "../../server/audit/chain.js";
import { checkpointSigningKey, parseCheckpointJson, signCheckpoint, type AuditCheckpoint } from "../../server/audit/checkpoint.js";
import { createCheckpointExporter, type CheckpointExporter } from "../../server/audit/checkpoint-exporter.js";
import { checkpointMessage } from "../../server/services/audit-checkpoint-messages.js";
import { clientsFor, type KeyedClients } from "../support/clients.js";
import { startTestGateway, TEST_PEPPER, type TestGateway } from "../support/gateway.js";
import { createTestDatabase, withClient, type TestDatabase } from "../support/postgres.js";

let database: TestDatabase;
let gw: TestGateway;
let platform: KeyedClients;
let dir: string;
let file: string;
let webhook: HttpServer;
const posted: string[] = [];
let exporter: CheckpointExporter;

const superuser = <T>(work: (client: pg.Client) => Promise<T>): Promise<T> => withClient(database.url, work);
async function until<T>(probe: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
async function fileCheckpoints(): Promise<AuditCheckpoint[]> {
  const text = await readFile(file, "utf8").catch(() => "");
  return text
    .split("\n")
    .filter((l) => l !== "")
    .map(parseCheckpointJson);
}
const mutate = (n: number, tag: string) =>
  Promise.all(
    Array.from({ length: n }, (_, i) =>
      platform.tenants.updateOrg({ org: { name: "orgs/acme", labels: { tag, n: String(i) } }, updateMask: { paths: ["labels"] } }),
    ),
  );
const verify = (checkpoints: AuditCheckpoint[]) => platform.audit.verifyAuditChain({ checkpoints: checkpoints.map(checkpointMessage) });

beforeAll(async () => {
  database = await createTestDatabase();
  gw = await startTestGateway({ databaseUrl: database.url });
  platform = clientsFor(gw.url, gw.adminKey);
  await platform.tenants.createOrg({ orgId: "acme", org: {} });
  dir = await mkdtemp(path.join(tmpdir(), "sb-checkpoints-"));
  file = path.join(dir, "audit-checkpoints.jsonl");
  webhook = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString("utf8")));
    req.on("end", () => {
      posted.push(body);
      res.writeHead(204).end();
    });
  });
  webhook.listen(0, "127.0.0.1");
  await once(webhook, "listening");
  exporter = createCheckpointExporter(
    { store: gw.server.audit.store, logger: gw.log.logger, signingKey: checkpointSigningKey(TEST_PEPPER) },
    { intervalMs: 50, file, webhookUrl: `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/checkpoints`, replica: "test-replica" },
  );
});
afterAll(async () => {
  await exporter?.stop();
  webhook?.close();
  await gw?.close();
  await database?.drop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe("audit checkpoints", () => {
  it("exports the signed head to the log, the file and the webhook while it moves, and at stop", async () => {
    exporter.start();
    const first = await until(async () => (await fileCheckpoints())[0], "a first checkpoint");
    const head = await gw.server.audit.store.head();
    expect(first).toMatchObject({ sequence: head.sequence, hash: head.hash, replica: "test-replica" });
    expect(first.sequence).toBeGreaterThan(0n);
    expect(first.signature).toBe(signCheckpoint(first, checkpointSigningKey(TEST_PEPPER)));
    const logged = gw.log.lines().find((l) => l.msg === "audit checkpoint");
    expect(logged).toMatchObject({ level: "info", auditCheckpoint: { sequence: String(first.sequence), hash: first.hash, signature: first.signature } });
    await until(() => (posted.length > 0 ? true : undefined), "the webhook");
    expect(parseCheckpointJson(posted[0]!)).toEqual(first);

    await mutate(3, "a");
    const moved = await until(async () => (await fileCheckpoints()).find((c) => c.sequence === first.sequence + 3n), "a checkpoint of the moved head");
    expect(moved.hash).toBe((await gw.server.audit.store.head()).hash);
    // An unchanged head is not exported again by the timer: consecutive lines differ.
    const lines = await fileCheckpoints();
    for (let i = 1; i < lines.length; i++) expect(lines[i]!.sequence).toBeGreaterThan(lines[i - 1]!.sequence);
    // exportNow (and stop) writes even an unchanged head.
    const forced = await exporter.exportNow();
    expect(forced?.sequence).toBe(moved.sequence);
    expect((await fileCheckpoints()).at(-1)).toEqual(forced);
  });

  it("passes verification against every exported checkpoint of an untouched chain", async () => {
    await mutate(2, "b");
    await exporter.exportNow();
    const checkpoints = await fileCheckpoints();
    expect(checkpoints.length).toBeGreaterThanOrEqual(3);
    const verdict = await verify(checkpoints);
    expect(verdict).toMatchObject({ intact: true, firstBrokenSequence: 0n, checkpointStatus: AuditCheckpointStatus.MATCHED, checkpointsMatched: BigInt(checkpoints.length) });
    expect(verdict.failedCheckpoint).toBeUndefined();
    // Without checkpoints the status says none were given.
    expect((await platform.audit.verifyAuditChain({})).checkpointStatus).toBe(AuditCheckpointStatus.UNSPECIFIED);
  });

  it("catches a tail rewritten with the head row (which the chain alone calls intact) and a forged checkpoint", async () => {
    const checkpoints = await fileCheckpoints();
    const last = checkpoints.at(-1)!;
    const event = (await gw.server.audit.store.get(last.sequence))!;
    const rewritten = { ...event, resource: "orgs/acme/nothing-happened" };
    const hash = chainHash(rewritten, event.previousHash);
    await superuser(async (c) => {
      await c.query("alter table audit_events disable trigger audit_events_append_only");
      await c.query("alter table audit_chain_head disable trigger audit_chain_head_advance");
      await c.query("update audit_events set resource = $1, hash = $2 where sequence = $3", [rewritten.resource, hash, last.sequence]);
      await c.query("update audit_chain_head set hash = $1 where id = 1", [hash]);
      await c.query("alter table audit_chain_head enable trigger audit_chain_head_advance");
      await c.query("alter table audit_events enable trigger audit_events_append_only");
    });
    expect((await platform.audit.verifyAuditChain({})).intact).toBe(true);

    const verdict = await verify(checkpoints);
    expect(verdict).toMatchObject({ intact: false, firstBrokenSequence: last.sequence, checkpointStatus: AuditCheckpointStatus.MISMATCH });
    expect(verdict.checkpointsMatched).toBe(BigInt(checkpoints.filter((c) => c.sequence < last.sequence).length));
    expect(verdict.failedCheckpoint).toMatchObject({ sequence: last.sequence, hash: last.hash });
    expect(gw.log.lines().some((l) => l.msg === "the audit chain does not match an exported checkpoint" && l.problem === "mismatch")).toBe(true);

    // A checkpoint edited to match the rewrite fails its signature.
    const forged = { ...last, hash };
    expect((await verify([forged])).checkpointStatus).toBe(AuditCheckpointStatus.BAD_SIGNATURE);
  });

  it("catches a tail cut off with the head row moved back", async () => {
    const checkpoints = await fileCheckpoints();
    const keep = checkpoints.at(-1)!.sequence - 3n;
    const kept = (await gw.server.audit.store.get(keep))!;
    await superuser(async (c) => {
      await c.query("alter table audit_events disable trigger audit_events_append_only");
      await c.query("alter table audit_chain_head disable trigger audit_chain_head_advance");
      await c.query("delete from audit_events where sequence > $1", [keep]);
      await c.query("update audit_chain_head set sequence = $1, hash = $2 where id = 1", [keep, kept.hash]);
      await c.query("alter table audit_chain_head enable trigger audit_chain_head_advance");
      await c.query("alter table audit_events enable trigger audit_events_append_only");
    });
    expect(await platform.audit.verifyAuditChain({})).toMatchObject({ intact: true, headSequence: keep });

    const verdict = await verify(checkpoints);
    const firstLost = checkpoints.filter((c) => c.sequence > keep).sort((a, b) => Number(a.sequence - b.sequence))[0]!;
    expect(verdict).toMatchObject({ intact: false, firstBrokenSequence: keep + 1n, checkpointStatus: AuditCheckpointStatus.MISSING });
    expect(verdict.failedCheckpoint?.sequence).toBe(firstLost.sequence);
  });

  it("logs a failing webhook and retries at the next tick, without throwing", async () => {
    const bodies: string[] = [];
    const flaky = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        bodies.push("");
        res.writeHead(bodies.length === 1 ? 500 : 204).end();
      });
    });
    flaky.listen(0, "127.0.0.1");
    await once(flaky, "listening");
    const retrying = createCheckpointExporter(
      { store: gw.server.audit.store, logger: gw.log.logger },
      { intervalMs: 50, webhookUrl: `http://127.0.0.1:${(flaky.address() as AddressInfo).port}/`, replica: "flaky" },
    );
    try {
      retrying.start();
      // The head does not move: only the failed first delivery makes the timer export again.
      await until(() => (bodies.length >= 2 ? true : undefined), "a retried delivery");
      expect(gw.log.lines().some((l) => l.msg === "audit checkpoint: the webhook refused the checkpoint" && l.status === 500)).toBe(true);
      const delivered = bodies.length;
      await new Promise((r) => setTimeout(r, 300));
      expect(bodies.length).toBe(delivered);
    } finally {
      await retrying.stop();
      flaky.close();
    }
  });
});
