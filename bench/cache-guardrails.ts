/**
 * Added latency of the response cache and the guardrails, in one run, in process (no network
 * but Redis's): the cache stage on a hit and on a miss (memory state, and Redis when REDIS_URL is
 * set), and the guardrail stages (input: PII redact + deny list + injection; output: PII + deny
 * list) on a 4 KB input, each compared with the same call straight to an instant fake provider.
 *
 *   node --import tsx bench/cache-guardrails.ts [--iterations 2000] [--out bench/results/cache-guardrails.json]
 */
import { create } from "@bufbuild/protobuf";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { dirname } from "node:path";
import { createCacheLayer } from "../server/cache/cache-layer.js";
import { withDefaults } from "../server/dispatch/route-types.js";
import { GuardrailStage } from "../gen/ts/switchboard/v1/error_details_pb.js";
import { GuardrailAction, GuardrailPolicySchema } from "../gen/ts/switchboard/v1/guardrail_service_pb.js";
import { compilePolicy } from "../server/guardrails/policy.js";
import { createLogger } from "../server/observability/logger.js";
import { createCacheStage } from "../server/pipeline/cache-stage.js";
import { createGuardrailInputStage } from "../server/pipeline/guardrail-stage.js";
import { createGuardrailOutputStage } from "../server/pipeline/guardrail-stage-output.js";
import { composeStages, type ModelCall, type ModelPipeline } from "../server/pipeline/model-call.js";
import { emptyUsage } from "../server/providers/model.js";
import { createMemoryState } from "../server/store/state/memory-state.js";
import { createRedisState } from "../server/store/state/redis-state.js";
import type { StateBackend } from "../server/store/state/state-backend.js";
import { testCallMeta } from "../server/pipeline/call-meta.testing.js";
import { arg } from "./cli.js";

const ITERATIONS = Number(arg("iterations", "2000"));
const OUT = arg("out", "bench/results/cache-guardrails.json");

/** An instant provider: the floor every row is compared with. */
const provider: ModelPipeline = {
  chat: async () => ({
    response: { text: "A short answer that mentions nothing sensitive at all.", toolCalls: [], finishReason: "stop", usage: { ...emptyUsage(), inputTokens: 1000, outputTokens: 12 }, model: "m" },
    provider: "fake",
    model: "m",
    attempts: [],
    costMicrosUsd: 1n,
    cacheStatus: "miss",
  }),
  chatStream: () => {
    throw new Error("not used");
  },
  embed: () => {
    throw new Error("not used");
  },
};

/** About 4 KB of user text with a few PII values in it. */
const INPUT_4KB = (() => {
  const sentence = "The customer wrote in about their order and asked us to check the delivery window for next week. ";
  let text = "";
  while (text.length < 4096 - 120) text += sentence;
  return `${text}Reach me at jane.doe@example.com or +1 415 555 0134, card 4111 1111 1111 1111.`.slice(0, 4096);
})();

const call = (text: string): ModelCall => ({
  meta: testCallMeta({ route: "bench", requestId: "bench", deadline: Date.now() + 60_000, caller: { orgId: "org_bench", teamId: "t", keyId: "k" }, userContentMessages: [0] }),

  request: { model: "", messages: [{ role: "user", content: [{ type: "text", text }] }] },
});

async function time(label: string, run: (i: number) => Promise<unknown>): Promise<{ label: string; p50Us: number; p99Us: number; meanUs: number }> {
  for (let i = 0; i < Math.min(200, ITERATIONS); i++) await run(-1 - i); // warm-up
  const samples: number[] = [];
  for (let i = 0; i < ITERATIONS; i++) {
    const started = process.hrtime.bigint();
    await run(i);
    samples.push(Number(process.hrtime.bigint() - started) / 1000);
  }
  samples.sort((a, b) => a - b);
  const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!;
  return { label, p50Us: at(0.5), p99Us: at(0.99), meanUs: samples.reduce((a, b) => a + b, 0) / samples.length };
}

async function cacheRows(name: string, state: StateBackend) {
  const logger = createLogger({ level: "silent" });
  const route = withDefaults({ alias: "bench", targets: [{ provider: "fake", model: "m" }], cache: { ttlMs: 600_000 } });
  const stage = createCacheStage({ ...createCacheLayer({ state, logger }), routes: { resolve: () => route } });
  const pipeline = composeStages([stage], provider);
  await pipeline.chat(call(INPUT_4KB)); // stored: every later identical call is a hit
  const runId = Math.random().toString(36).slice(2);
  return [
    await time(`cache hit (${name})`, () => pipeline.chat(call(INPUT_4KB))),
    // A new prompt each time: lookup, provider, store.
    await time(`cache miss + store (${name})`, (i) => pipeline.chat(call(`${runId} ${i} ${INPUT_4KB}`))),
  ];
}

async function main() {
  const rows = [await time("no stages (instant provider)", () => provider.chat(call(INPUT_4KB)))];
  const memory = createMemoryState();
  rows.push(...(await cacheRows("memory", memory)));
  await memory.close();
  if (process.env.REDIS_URL) {
    const redis = createRedisState({ url: process.env.REDIS_URL, keyPrefix: `sbbench:${Date.now()}:`, commandTimeoutMs: 200 });
    await redis.ping();
    rows.push(...(await cacheRows("redis", redis)));
    await redis.deleteByPrefix("");
    await redis.close();
  }
  const policy = compilePolicy(
    create(GuardrailPolicySchema, {
      name: "guardrail-policies/bench",
      rules: [
        { id: "pii", stage: GuardrailStage.BOTH, action: GuardrailAction.REDACT, check: { case: "pii", value: { restoreInResponse: true } } },
        { id: "deny", stage: GuardrailStage.BOTH, action: GuardrailAction.BLOCK, check: { case: "denyList", value: { phrases: Array.from({ length: 1000 }, (_, i) => `forbidden phrase ${i}`) } } },
        { id: "inj", stage: GuardrailStage.INPUT, action: GuardrailAction.LOG, check: { case: "injection", value: {} } },
      ],
    }),
  );
  const deps = { policies: { forCall: async () => [policy] }, external: { check: async () => ({ decision: "allow" as const }) }, logger: createLogger({ level: "silent" }) };
  const guarded = composeStages([createGuardrailInputStage(deps), createGuardrailOutputStage(deps)], provider);
  rows.push(await time("guardrails in + out, 4 KB input (PII, 1000-phrase deny list, injection)", () => guarded.chat(call(INPUT_4KB))));

  const base = rows[0]!.p50Us;
  console.log(`\n${ITERATIONS} iterations per row, Node ${process.version}, ${cpus().length} cores\n`);
  console.log("| path | p50 µs | p99 µs | added p50 µs |\n|---|---|---|---|");
  for (const r of rows) console.log(`| ${r.label} | ${r.p50Us.toFixed(1)} | ${r.p99Us.toFixed(1)} | ${(r.p50Us - base).toFixed(1)} |`);
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, JSON.stringify({ at: new Date().toISOString(), node: process.version, cores: cpus().length, iterations: ITERATIONS, rows }, null, 2));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
