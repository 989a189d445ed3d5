/**
 * Child process of fault-path-heap.test.ts (run with `--expose-gc`): a gateway in front of the
 * OpenAI wire fake, driven with a seeded mix of calls on both front doors — Connect `Chat` and
 * `ChatStream`, the OpenAI surface unary and streamed — under faults on the provider's side
 * (5xx and 429, refused connections, cut and broken streams, a stall and a hang that run into the
 * call's deadline) and the caller's (aborts mid-call), with a budget, rate limits and guardrails
 * (PII redacted and restored, an output deny list) on every call. Each call names its fault in its prompt
 * (`[fault:…]`, read by the fake's director, as the soak's fakes do), so a call that never reaches
 * the provider (an open breaker) leaves no fault queued for the next. After a warm-up batch and
 * after each measured batch it forgets what the fake and the log capture recorded and collects
 * twice; with `FAULT_HEAP_SNAPSHOTS=DIR` it writes a heap snapshot there at each point (`after-N`),
 * for `test/support/heap-survivors.ts` (or `bench/heap-diff.ts`). It prints how the calls ended.
 *
 *   [FAULT_HEAP_STORES=production] node --expose-gc --no-opt --import tsx test/integration/fault-path-heap.child.ts [CALLS_PER_BATCH] [BATCHES]
 */
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { writeHeapSnapshot } from "node:v8";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { Pool } from "undici";
import { BudgetPeriod, GuardrailStage } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { GuardrailAction, GuardrailRuleSchema } from "../../gen/ts/switchboard/v1/guardrail_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import type { Fault } from "../../server/sandbox/script-types.js";
import { startScriptedServer } from "../../server/sandbox/scripted-server.js";
import { createRandom } from "../../server/sandbox/seeded.js";
import { createRedisState } from "../../server/store/state/redis-state.js";
import { openAIWireFormat } from "../fakes/openai-fake.js";
import { startTestGateway } from "../support/gateway.js";
import { fakeProviderOptions, fakeTarget } from "../support/money-rig.js";
import { createAppKey, moneyClients } from "../support/money.js";
import { createTestDatabase } from "../support/postgres.js";
import { requireEnv } from "../support/require-env.js";

const CALLS = Number(process.argv[2] ?? 1000);
const BATCHES = Number(process.argv[3] ?? 4);
const CONCURRENCY = 8;
const DEADLINE_MS = 400;
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with --expose-gc");
// tsx maps stack traces through source maps, parsing a module's map the first time an error's
// stack passes through it: objects that would show up as survivors of whichever batch did that.
process.setSourceMapsEnabled(false);

/** The provider-side faults a prompt can name, as the fake plays them. */
const PROVIDER_FAULTS: Record<string, Fault> = {
  s500: { kind: "status", status: 500 },
  s429: { kind: "status", status: 429, retryAfterMs: 5 },
  refuse: { kind: "refuse" },
  cut: { kind: "cut" },
  midstream: { kind: "mid_stream_error" },
  stall: { kind: "stall_after_first_chunk" },
  hang: { kind: "hang" },
};
/** Each call's fault and its share: about half the calls answer, few enough fail for the breaker to stay mostly closed. */
const MIX: Array<[number, string | undefined]> = [
  [0.5, undefined],
  [0.08, "s500"],
  [0.07, "s429"],
  [0.04, "refuse"],
  [0.08, "cut"],
  [0.04, "midstream"],
  [0.03, "stall"],
  [0.03, "hang"],
  [0.13, "abort"],
];
const FAULT = /\[fault:([a-z0-9]+)\]/;

const fake = await startScriptedServer(openAIWireFormat(), {
  director: (req) => {
    const fault = PROVIDER_FAULTS[FAULT.exec(JSON.stringify(req.body ?? ""))?.[1] ?? ""];
    return fault === undefined ? {} : { fault };
  },
});
// `FAULT_HEAP_STORES=production`: a fresh Postgres database (DATABASE_URL) and Redis state
// (REDIS_URL) instead of the embedded PGlite and in-process state.
const production = process.env.FAULT_HEAP_STORES === "production";
const database = production ? await createTestDatabase() : undefined;
const state = production ? createRedisState({ url: requireEnv("REDIS_URL"), keyPrefix: `sbtest:heap:${randomBytes(6).toString("hex")}:`, commandTimeoutMs: 2000, connectTimeoutMs: 2000 }) : undefined;
const gw = await startTestGateway({ ...fakeProviderOptions(fake), ...(database === undefined ? {} : { databaseUrl: database.url }), ...(state === undefined ? {} : { state }) });
const admin = moneyClients(gw.url, gw.adminKey);
// A breaker that opens on a worse mix than this one's, and probes again after 100 ms: the run
// passes through its open and half-open states too, but mostly reaches the provider.
await admin.routes.createRoute({
  routeId: "faulty",
  route: { targets: [fakeTarget()], retry: { maxAttempts: 2 }, breaker: { errorThresholdPercent: 70, resetTimeout: { seconds: 0n, nanos: 100_000_000 } } },
});
const key = await createAppKey(admin, "leaky");
// A budget and rate limits far above what the run spends, so their reserve, settle and windows run on every call.
await admin.budgets.createBudget({ parent: "orgs/leaky", budgetId: "wide", budget: { target: key.name, limitMicrosUsd: 10_000_000_000n, period: BudgetPeriod.DAILY } });
await admin.budgets.createRateLimit({ parent: "orgs/leaky", rateLimitId: "wide", rateLimit: { target: key.name, requestsPerMinute: 1_000_000n, tokensPerMinute: 1_000_000_000n } });
// Guardrails on every call of the org: PII redacted before the provider and restored in the
// answer, and an output deny list (the fake echoes the prompt, so a prompt with the phrase is refused).
await admin.guardrails.createGuardrailPolicy({
  parent: "orgs/leaky",
  policyId: "pii",
  policy: {
    enabled: true,
    attachments: ["orgs/leaky"],
    rules: [
      create(GuardrailRuleSchema, { id: "mask", stage: GuardrailStage.INPUT, action: GuardrailAction.REDACT, check: { case: "pii", value: { restoreInResponse: true } } }),
      create(GuardrailRuleSchema, { id: "deny", stage: GuardrailStage.OUTPUT, action: GuardrailAction.BLOCK, check: { case: "denyList", value: { phrases: ["project apollo"] } } }),
    ],
  },
});
await gw.models.resolver.refresh();
await gw.money.catalog.refresh();
const verbs = moneyClients(gw.url, key.secret).verbs;
/** The OpenAI-surface client; a new pool each batch (see `settle`). */
let openai = new Pool(gw.url, { connections: CONCURRENCY });

/** Seeded, so every run draws the same mix. */
const random = createRandom(11);
const pick = () => {
  let r = random();
  for (const [share, fault] of MIX) if ((r -= share) < 0) return fault;
  return undefined;
};

/** How the calls ended: `ok`, a Connect code name, an OpenAI-surface HTTP status, or the client's error. */
const outcomes: Record<string, number> = {};
const count = (outcome: string) => void (outcomes[outcome] = (outcomes[outcome] ?? 0) + 1);

/** One call of kind `i % 4`; every outcome is fine here, the run counts them and what they leave behind. */
async function call(i: number): Promise<void> {
  const fault = pick();
  const abort = new AbortController();
  if (fault === "abort") setTimeout(() => abort.abort(), 2 + (i % 5)).unref();
  // One call in ten carries an address to redact (and restore), one in ten (of every kind) the denied phrase.
  const extra = i % 10 === 3 ? " mail jane.doe@example.com" : i % 40 >= 6 && i % 40 < 10 ? " about project apollo" : "";
  const text = `call ${i}${fault === undefined || fault === "abort" ? "" : ` [fault:${fault}]`}${extra} ${"x".repeat(i % 200)}`;
  const stream = i % 2 === 1;
  try {
    if (i % 4 < 2) {
      const req = { options: { route: "faulty", maxOutputTokens: 32 }, messages: [{ role: Role.USER, content: [{ part: { case: "text" as const, value: text } }] }] };
      const opts = { signal: abort.signal, timeoutMs: DEADLINE_MS };
      if (stream) for await (const _ of verbs.chatStream(req, opts)) void _;
      else await verbs.chat(req, opts);
      count("ok");
    } else {
      const res = await openai.request({
        path: "/v1/chat/completions",
        method: "POST",
        signal: abort.signal,
        headers: { "content-type": "application/json", authorization: `Bearer ${key.secret}`, "x-switchboard-timeout-ms": String(DEADLINE_MS) },
        body: JSON.stringify({ model: "faulty", max_tokens: 32, stream, messages: [{ role: "user", content: text }] }),
      });
      await res.body.text();
      count(res.statusCode === 200 ? "ok" : `http ${res.statusCode}`);
    }
  } catch (err) {
    count(err instanceof ConnectError ? (Code[err.code] ?? String(err.code)) : err instanceof Error ? err.name : "thrown");
  }
}

async function batch(from: number, size: number): Promise<void> {
  let next = from;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < from + size) await call(next++);
    }),
  );
}

let snapshots = 0;
/**
 * Lets the batch's timers (retry delays, deadlines, breaker cool-downs) run out, forgets what the
 * fake and the log capture recorded, collects twice and writes a heap snapshot (`after-N`).
 */
async function settle(): Promise<void> {
  await sleep(1500);
  // Connections opened during a batch (a caller's abort or a provider's cut closes one and the next
  // call opens another) would outlive it in the pools: their sockets are per connection, not per
  // call, so each batch ends with none — the client's pool closed, the provider's connections dropped.
  await openai.close();
  openai = new Pool(gw.url, { connections: CONCURRENCY });
  fake.dropConnections();
  fake.reset();
  gw.log.clear();
  gc!();
  await sleep(50);
  gc!();
  if (process.env.FAULT_HEAP_SNAPSHOTS !== undefined) writeHeapSnapshot(`${process.env.FAULT_HEAP_SNAPSHOTS}/after-${snapshots++}.heapsnapshot`);
}

for (let b = 0; b <= BATCHES; b++) {
  await batch(b * CALLS, CALLS);
  await settle();
}
process.stdout.write(JSON.stringify({ calls: CALLS, outcomes }) + "\n");
await openai.close();
await gw.close();
await state?.close();
await database?.drop();
await fake.close();
