/**
 * Added latency of the money stages, in one run, in process (no network but Redis's): the
 * rate-limit stage (one RPM + TPM rule), the budget stage (key, team and org budgets: seed check,
 * reserve, settle) and the usage stage (one ledger record appended and fsync'd before the call
 * returns), each alone and all three, on in-process state and on Redis when REDIS_URL is set,
 * compared with the same call straight to an instant provider.
 *
 *   node --import tsx bench/money.ts [--iterations 2000] [--out bench/results/money.json]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { withDefaults } from "../server/dispatch/route-types.js";
import { createAttemptCost } from "../server/limits/attempt-cost.js";
import { BUILTIN_PRICE_TABLE } from "../server/limits/builtin-prices.js";
import { createBudgetReservations, type BudgetRef } from "../server/limits/budget-reservation.js";
import { createBudgetSeeder } from "../server/limits/budget-seeder.js";
import { createLedgerWriter, type LedgerWriter } from "../server/limits/ledger-writer.js";
import { createPriceBook } from "../server/limits/price-table.js";
import { createRateLimiter, type RateLimitRule } from "../server/limits/rate-limiter.js";
import { createLogger } from "../server/observability/logger.js";
import { createBudgetStage } from "../server/pipeline/budget-stage.js";
import { composeStages, type ModelCall, type ModelPipeline, type Stage } from "../server/pipeline/model-call.js";
import { createRateLimitStage } from "../server/pipeline/rate-limit-stage.js";
import { createUsageStage } from "../server/pipeline/usage-stage.js";
import { emptyUsage } from "../server/providers/model.js";
import { createMemoryState } from "../server/store/state/memory-state.js";
import { createRedisState } from "../server/store/state/redis-state.js";
import type { StateBackend } from "../server/store/state/state-backend.js";
import { testCallMeta } from "../server/pipeline/call-meta.testing.js";
import { arg } from "./cli.js";

const ITERATIONS = Number(arg("iterations", "2000"));
const OUT = arg("out", "bench/results/money.json");

const usage = { ...emptyUsage(), inputTokens: 200, outputTokens: 50 };
/** An instant provider answering with one priced attempt: the floor every row is compared with. */
const provider: ModelPipeline = {
  chat: async () => ({
    response: { text: "ok", toolCalls: [], finishReason: "stop", usage, model: "gpt-4o-mini" },
    provider: "openai",
    model: "gpt-4o-mini",
    attempts: [{ index: 1, targetIndex: 0, provider: "openai", model: "gpt-4o-mini", outcome: "success", latencyMs: 1, usage, hedged: false }],
    costMicrosUsd: 60n,
    cacheStatus: "miss",
  }),
  chatStream: () => {
    throw new Error("not used");
  },
  embed: () => {
    throw new Error("not used");
  },
};

const call = (i: number): ModelCall => ({
  meta: testCallMeta({ route: "bench", requestId: `bench-${i}`, deadline: Date.now() + 60_000, caller: { orgId: "org_bench", teamId: "team_bench", keyId: "key_bench" } }),

  request: { model: "", messages: [{ role: "user", content: [{ type: "text", text: "How long is the delivery window next week?" }] }], maxOutputTokens: 256 },
});

async function time(label: string, pipeline: ModelPipeline) {
  for (let i = 0; i < Math.min(200, ITERATIONS); i++) await pipeline.chat(call(-1 - i)); // warm-up
  const samples: number[] = [];
  for (let i = 0; i < ITERATIONS; i++) {
    const started = process.hrtime.bigint();
    await pipeline.chat(call(i));
    samples.push(Number(process.hrtime.bigint() - started) / 1000);
  }
  samples.sort((a, b) => a - b);
  const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!;
  return { label, p50Us: at(0.5), p99Us: at(0.99), meanUs: samples.reduce((a, b) => a + b, 0) / samples.length };
}

function stages(state: StateBackend, ledger: LedgerWriter) {
  const logger = createLogger({ level: "silent" });
  const prices = createPriceBook({ builtin: BUILTIN_PRICE_TABLE });
  const route = withDefaults({ alias: "bench", targets: [{ provider: "openai", model: "gpt-4o-mini" }] });
  const cap = (id: string, level: BudgetRef["level"]): BudgetRef => ({ id, level, limitMicros: 10n ** 15n, period: "monthly", tz: "UTC" });
  const budgets = [cap("orgs/b/budgets/key", "key"), cap("orgs/b/budgets/team", "team"), cap("orgs/b/budgets/org", "org")];
  const rules: RateLimitRule[] = [{ id: "orgs/b/rate-limits/key", level: "key", requestsPerMinute: 1_000_000, tokensPerMinute: 100_000_000 }];
  const catalog = { budgetsFor: () => budgets, rateRulesFor: () => rules };
  const clock = { now: () => Date.now() };
  const rate: Stage = createRateLimitStage({ limiter: createRateLimiter({ state }), catalog, logger });
  const budget: Stage = createBudgetStage({
    reservations: createBudgetReservations({ state, clock }),
    catalog,
    routes: { resolve: () => route },
    prices,
    seeder: createBudgetSeeder({ state, clock, ledgerSpent: async () => 0n }),
    logger,
  });
  const usageStage: Stage = createUsageStage({ ledger, cost: createAttemptCost(prices), priceVersion: () => BUILTIN_PRICE_TABLE.version, logger });
  return { rate, budget, usage: usageStage };
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), "sb-bench-ledger-"));
  const ledger = createLedgerWriter({ store: { insertBatch: async (rows) => rows.length, deadLetter: async () => undefined }, dir, logger: createLogger({ level: "silent" }) });
  await ledger.start();
  const rows = [await time("no stages (instant provider)", provider)];
  const backends: [string, StateBackend][] = [["memory", createMemoryState()]];
  if (process.env.REDIS_URL) {
    const redis = createRedisState({ url: process.env.REDIS_URL, keyPrefix: `sbbench:money:${Date.now()}:`, commandTimeoutMs: 200 });
    await redis.ping();
    backends.push(["redis", redis]);
  }
  for (const [name, state] of backends) {
    const s = stages(state, ledger);
    rows.push(await time(`rate limit, 1 rule (${name})`, composeStages([s.rate], provider)));
    rows.push(await time(`budget, 3 levels (${name})`, composeStages([s.budget], provider)));
    rows.push(await time(`rate limit + budget + usage ledger (${name})`, composeStages([s.rate, s.budget, s.usage], provider)));
  }
  rows.push(await time("usage ledger alone (append + fdatasync)", composeStages([stages(backends[0]![1], ledger).usage], provider)));
  for (const [, state] of backends) {
    await state.deleteByPrefix("");
    await state.close();
  }
  await ledger.close();
  rmSync(dir, { recursive: true, force: true });

  const base = rows[0]!.p50Us;
  const baseP99 = rows[0]!.p99Us;
  console.log(`\n${ITERATIONS} iterations per row, Node ${process.version}, ${cpus().length} cores\n`);
  console.log("| path | p50 µs | p99 µs | added p50 µs | added p99 µs |\n|---|---|---|---|---|");
  for (const r of rows) console.log(`| ${r.label} | ${r.p50Us.toFixed(1)} | ${r.p99Us.toFixed(1)} | ${(r.p50Us - base).toFixed(1)} | ${(r.p99Us - baseP99).toFixed(1)} |`);
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, JSON.stringify({ at: new Date().toISOString(), node: process.version, cores: cpus().length, iterations: ITERATIONS, rows }, null, 2));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
