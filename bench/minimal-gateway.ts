/**
 * Issue #11's calibration gateway, built here so its figure is measured on the same machine in the
 * same run as Switchboard's: "a minimal connect-node gateway (upstream call + 3 Redis round trips +
 * access log)", on both of Switchboard's unary front doors —
 *
 * - `POST /v1/chat/completions`, the OpenAI wire on node:http (as Switchboard's OpenAI surface);
 * - `/switchboard.v1.CapabilityService/Chat`, Connect through connect-node's adapter and the
 *   generated service (as the issue's figure; Switchboard serves this path without connect-node's
 *   per-call plumbing since the third pass).
 *
 * Every call: the bearer key looked up in a map; three Redis round trips one after another — a
 * requests-per-minute counter (a Lua `INCR` + `PEXPIRE`), a cache `GET` by the request's SHA-256, a
 * budget reservation (a Lua `INCRBY` against a cap, given back by nothing) — then the upstream call
 * through an undici pool, its JSON parsed and the answer built, and one pino access-log line. What
 * it leaves out is everything else Switchboard does: validation, tokens-per-minute, guardrails,
 * cache writes, the budget's settle, the ledger, the request log, metrics, retries and breakers.
 *
 *   node --import tsx bench/minimal-gateway.ts PORT UPSTREAM_URL REDIS_URL BEARER_KEY
 */
import { createHash } from "node:crypto";
import { createServer } from "node:http";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { Redis } from "ioredis";
import { pino } from "pino";
import { Pool } from "undici";
import { CapabilityService, ChatResponseSchema, type ChatRequest } from "../gen/ts/switchboard/v1/capability_service_pb.js";
import { FinishReason, Role } from "../gen/ts/switchboard/v1/chat_pb.js";

const [portArg, upstreamUrl, redisUrl, key] = process.argv.slice(2);
if (!upstreamUrl || !redisUrl || !key) throw new Error("usage: minimal-gateway.ts PORT UPSTREAM_URL REDIS_URL BEARER_KEY");

const keys = new Map([[key, { orgId: "org-minimal", keyId: "key-minimal" }]]);
const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, commandTimeout: 2_000 }) as Redis & {
  minimalCount(key: string, ttlMs: number): Promise<number>;
  minimalReserve(key: string, amount: number, cap: number, ttlMs: number): Promise<number>;
};
const upstream = new Pool(upstreamUrl, { connections: 256, pipelining: 1 });
const log = pino({ base: { service: "minimal" } });
const COUNT = "local n = redis.call('INCR', KEYS[1]) if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end return n";
const RESERVE = "local n = redis.call('INCRBY', KEYS[1], ARGV[1]) if n > tonumber(ARGV[2]) then redis.call('DECRBY', KEYS[1], ARGV[1]) return -1 end redis.call('PEXPIRE', KEYS[1], ARGV[3]) return n";
// EVALSHA, loading the script with EVAL the first time (as Switchboard's Redis backend does).
redis.defineCommand("minimalCount", { numberOfKeys: 1, lua: COUNT });
redis.defineCommand("minimalReserve", { numberOfKeys: 1, lua: RESERVE });

interface Answer {
  text: string;
  inputTokens: number;
  outputTokens: number;
}

/** The three Redis round trips and the upstream call of one chat; the caller of `authorization`. */
async function chat(authorization: string | undefined, messages: { role: string; content: string }[]): Promise<{ caller: { orgId: string; keyId: string }; answer: Answer }> {
  const caller = authorization?.startsWith("Bearer ") ? keys.get(authorization.slice(7)) : undefined;
  if (caller === undefined) throw new ConnectError("unknown key", Code.Unauthenticated);
  const minute = Math.floor(Date.now() / 60_000);
  const count = await redis.minimalCount(`min:rpm:${caller.keyId}:${minute}`, 120_000);
  if (count > 1_000_000_000) throw new ConnectError("rate limited", Code.ResourceExhausted);
  const cacheKey = createHash("sha256").update(JSON.stringify(messages)).digest("hex");
  if ((await redis.get(`min:cache:${cacheKey}`)) !== null) throw new ConnectError("a cache hit is not part of this figure", Code.Internal);
  if ((await redis.minimalReserve(`min:budget:${caller.orgId}`, 1, 1e15, 86_400_000)) < 0) throw new ConnectError("over budget", Code.ResourceExhausted);
  const res = await upstream.request({
    path: "/v1/chat/completions",
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer upstream-key" },
    body: JSON.stringify({ model: "gpt-4o-mini", messages }),
  });
  const body = (await res.body.json()) as { choices: { message: { content: string } }[]; usage: { prompt_tokens: number; completion_tokens: number } };
  if (res.statusCode !== 200) throw new ConnectError(`upstream ${res.statusCode}`, Code.Unavailable);
  return { caller, answer: { text: body.choices[0]!.message.content, inputTokens: body.usage.prompt_tokens, outputTokens: body.usage.completion_tokens } };
}

function accessLog(procedure: string, started: number, caller: { orgId: string; keyId: string } | undefined, code: string, answer?: Answer): void {
  log.info({ procedure, orgId: caller?.orgId, keyId: caller?.keyId, code, durationMs: Math.round((performance.now() - started) * 100) / 100, inputTokens: answer?.inputTokens, outputTokens: answer?.outputTokens }, "rpc");
}

const connect = connectNodeAdapter({
  routes: (router) =>
    router.service(CapabilityService, {
      async chat(req: ChatRequest, ctx) {
        const started = performance.now();
        const messages = req.messages.map((m) => ({ role: m.role === Role.USER ? "user" : "assistant", content: m.content.map((p) => (p.part.case === "text" ? p.part.value : "")).join("") }));
        try {
          const { caller, answer } = await chat(ctx.requestHeader.get("authorization") ?? undefined, messages);
          accessLog("Chat", started, caller, "ok", answer);
          return create(ChatResponseSchema, {
            message: { role: Role.ASSISTANT, content: [{ part: { case: "text", value: answer.text } }] },
            finishReason: FinishReason.STOP,
            usage: { inputTokens: BigInt(answer.inputTokens), outputTokens: BigInt(answer.outputTokens), provider: "openai", model: "gpt-4o-mini" },
          });
        } catch (err) {
          accessLog("Chat", started, undefined, ConnectError.from(err).code.toString());
          throw err;
        }
      },
    }),
});

const server = createServer((req, res) => {
  if (req.url !== "/v1/chat/completions") return connect(req, res);
  const started = performance.now();
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const request = JSON.parse(Buffer.concat(chunks).toString()) as { model: string; messages: { role: string; content: string }[] };
    chat(req.headers.authorization, request.messages).then(
      ({ caller, answer }) => {
        const body = JSON.stringify({
          id: `chatcmpl-${started}`,
          object: "chat.completion",
          created: Math.floor(Date.now() / 1000),
          model: request.model,
          choices: [{ index: 0, message: { role: "assistant", content: answer.text }, finish_reason: "stop", logprobs: null }],
          usage: { prompt_tokens: answer.inputTokens, completion_tokens: answer.outputTokens, total_tokens: answer.inputTokens + answer.outputTokens },
        });
        res.writeHead(200, { "content-type": "application/json" }).end(body);
        accessLog("POST /v1/chat/completions", started, caller, "ok", answer);
      },
      (err: unknown) => {
        res.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: String(err) } }));
        accessLog("POST /v1/chat/completions", started, undefined, "internal");
      },
    );
  });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(portArg ?? 0), "127.0.0.1", () => {
  const address = server.address();
  process.stdout.write(`${typeof address === "object" && address ? address.port : portArg}\n`);
});
// Exit normally on SIGTERM, so a `--cpu-prof` run writes its profile (path-cost.ts --profile).
process.once("SIGTERM", () => process.exit(0));
