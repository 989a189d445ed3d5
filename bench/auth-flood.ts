/**
 * What a flood of well-formed random keys costs the database, and whether a real key this replica
 * never saw gets through during it: the authenticator as the gateway builds it, over a real
 * Postgres (a fresh database on `DATABASE_URL`, which must be on this host), pool of 10 as
 * `database.poolSize` defaults. Each run is made twice: with the unknown-key throttle off
 * (`unknownKeyBurst` 0: the behaviour before it) and at its defaults.
 *
 *   node --import tsx bench/auth-flood.ts [--keys 5000] [--concurrency 64] [--addresses 1,256]
 *
 * A flood is `--keys` secrets sent by `--concurrency` callers (closed loop; each call starts on a
 * turn of the event loop of its own, as a request read from a socket does), spread over N client
 * addresses; at each twentieth of it, a valid key nobody presented yet is presented from an
 * address of its own. Reported per run: SQL lookups of a secret sent to Postgres (counted as the
 * key store compiles them), the answers, the flood's wall time, CPU of this process and of the
 * database's backends (from /proc), and how many of the 20 valid keys got through (and their
 * median latency).
 */
import { parseArgs } from "node:util";
import { Code, ConnectError } from "@connectrpc/connect";
import { SelectQueryNode, sql, type KyselyPlugin } from "kysely";
import { createAuthenticator } from "../server/auth/authenticator.js";
import { generateSecret, parseSecret } from "../server/auth/key-format.js";
import { hashSecret } from "../server/auth/secret-hash.js";
import { createDatabase } from "../server/store/database.js";
import { createKeyStore } from "../server/store/key-store.js";
import { migrateToLatest } from "../server/store/migrate.js";
import { createTenantStore } from "../server/store/tenant-store.js";
import { createTestDatabase } from "../test/support/postgres.js";
import { cpuMicros } from "./proc-stats.js";

const { values: args } = parseArgs({
  options: {
    keys: { type: "string", default: "5000" },
    concurrency: { type: "string", default: "64" },
    addresses: { type: "string", default: "1,256" },
  },
});
const keys = Math.min(100_000, Number(args.keys));
const concurrency = Math.min(256, Number(args.concurrency));
const addressCounts = args.addresses.split(",").map(Number);
const PEPPER = "bench-auth-flood-pepper-0123456789abcdef";
const ALL_ORGS = { allOrgs: true } as const;

const url = process.env.DATABASE_URL;
if (url === undefined) throw new Error("set DATABASE_URL (a Postgres on this host)");
if (!["127.0.0.1", "localhost", "::1", "[::1]"].includes(new URL(url).hostname)) throw new Error("DATABASE_URL must be on this host (127.0.0.1)");

const database = await createTestDatabase();
const handle = await createDatabase({ databaseUrl: database.url, pool: 10 });
const sent = { lookups: 0 };
const counter: KyselyPlugin = {
  transformQuery({ node }) {
    if (SelectQueryNode.is(node) && JSON.stringify(node.where ?? null).includes('"secret_hmac"')) sent.lookups++;
    return node;
  },
  transformResult: async ({ result }) => result,
};
try {
  await migrateToLatest(handle.db);
  const store = createKeyStore(handle.db.withPlugin(counter));
  const tenants = createTenantStore(handle.db);
  await tenants.createOrg("bench", { displayName: "", labels: {} });
  await tenants.createTeam("bench", "web", ALL_ORGS, { displayName: "", labels: {} });
  let named = 0;
  const createKey = async (): Promise<string> => {
    const secret = generateSecret();
    const fields = { displayName: "", scopes: ["SCOPE_INVOKE"], allowedRoutes: [], allowedModels: [], tags: {}, expiresAt: null };
    await store.createKey({ orgName: "bench", teamName: "web" }, `k${++named}`, ALL_ORGS, fields, { secretHmac: hashSecret(secret, PEPPER), displayPrefix: parseSecret(secret)!.displayPrefix });
    return secret;
  };
  const backendsCpu = async (): Promise<number> => {
    const { rows } = await sql<{ pid: number }>`select pid from pg_stat_activity where datname = current_database()`.execute(handle.db);
    return rows.reduce((sum, { pid }) => sum + (() => { try { return cpuMicros(pid); } catch { return 0; } })(), 0);
  };
  const quiet = () => undefined;
  const logger = { debug: quiet, info: quiet, warn: quiet, error: quiet } as never;

  console.log(`${keys} random well-formed keys, ${concurrency} callers; Postgres pool 10`);
  for (const addresses of addressCounts) {
    for (const throttle of ["off", "on"] as const) {
      const auth = createAuthenticator({ keys: store, pepper: PEPPER, clock: { now: Date.now }, logger }, throttle === "off" ? { unknownKeyBurst: 0 } : {});
      const valid = await Promise.all(Array.from({ length: 20 }, createKey));
      const secrets = Array.from({ length: keys }, () => generateSecret());
      const answers = new Map<string, number>();
      const validCalls: Array<Promise<{ ok: boolean; ms: number }>> = [];
      let next = 0;
      const lookups0 = sent.lookups;
      const cpu0 = process.cpuUsage();
      const db0 = await backendsCpu();
      const started = performance.now();
      const caller = async () => {
        while (next < secrets.length) {
          const i = next++;
          await new Promise((resolve) => setImmediate(resolve));
          if (i % Math.floor(keys / 20) === 0 && validCalls.length < valid.length) {
            const t = performance.now();
            const done = (ok: boolean) => ({ ok, ms: performance.now() - t });
            validCalls.push(auth.authenticate(valid[validCalls.length]!, `198.51.100.${validCalls.length}`).then(() => done(true), () => done(false)));
          }
          const outcome = await auth.authenticate(secrets[i]!, `10.1.${(i % addresses) >> 8}.${(i % addresses) & 255}`).then(
            () => "ok",
            (err: unknown) => Code[ConnectError.from(err).code]!,
          );
          answers.set(outcome, (answers.get(outcome) ?? 0) + 1);
        }
      };
      await Promise.all(Array.from({ length: concurrency }, caller));
      const validAnswers = await Promise.all(validCalls);
      const validMs = validAnswers.map((a) => a.ms).sort((a, b) => a - b)[Math.floor(validAnswers.length / 2)]!;
      const wallMs = performance.now() - started;
      const cpu = process.cpuUsage(cpu0);
      const dbMs = ((await backendsCpu()) - db0) / 1000;
      const outcomes = [...answers].map(([k, v]) => `${k} ${v}`).join(", ");
      console.log(
        `${addresses} address(es), throttle ${throttle}: ${sent.lookups - lookups0} lookups sent; ${outcomes}; ` +
          `${wallMs.toFixed(0)} ms, this process ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms CPU, Postgres backends ${dbMs.toFixed(0)} ms CPU; ` +
          `valid unseen keys: ${validAnswers.filter((a) => a.ok).length}/${validAnswers.length} ok, p50 ${validMs.toFixed(1)} ms`,
      );
    }
  }
} finally {
  await handle.close();
  await database.drop();
}
