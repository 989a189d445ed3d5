/**
 * A minimal OpenAI-wire upstream for benchmarks: canned `chat.completion` JSON, or an SSE stream
 * of a few chunks ending in a usage chunk and `[DONE]`, after an optional delay. It does as little
 * work as possible so the figures measure the gateway, not the fake.
 *
 * A streamed request whose prompt contains `bench-slow-stream` is held open: its first chunk goes at
 * once, then one word a second for up to two minutes, until the client goes away. A unary request
 * whose prompt contains `bench-slow-unary` is held without an answer for up to two minutes, until
 * the client goes away. `GET /open` answers how many such requests are open now (for the memory
 * per open stream and per call in flight).
 *
 *   node --import tsx bench/upstream.ts PORT DELAY_MS
 */
import { createServer } from "node:http";

const port = Number(process.argv[2] ?? 0);
const delayMs = Number(process.argv[3] ?? 0);

const unary = JSON.stringify({
  id: "chatcmpl-bench",
  object: "chat.completion",
  created: 1_700_000_000,
  model: "gpt-4o-mini",
  choices: [{ index: 0, message: { role: "assistant", content: "benchmark answer with a few words" }, finish_reason: "stop", logprobs: null }],
  usage: { prompt_tokens: 12, completion_tokens: 6, total_tokens: 18 },
});
const chunk = (delta: object, finish: string | null) =>
  `data: ${JSON.stringify({ id: "chatcmpl-bench", object: "chat.completion.chunk", created: 1_700_000_000, model: "gpt-4o-mini", choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }] })}\n\n`;
const stream =
  chunk({ role: "assistant", content: "" }, null) +
  ["benchmark ", "answer ", "with a ", "few words"].map((t) => chunk({ content: t }, null)).join("") +
  chunk({}, "stop") +
  `data: ${JSON.stringify({ id: "chatcmpl-bench", object: "chat.completion.chunk", created: 1_700_000_000, model: "gpt-4o-mini", choices: [], usage: { prompt_tokens: 12, completion_tokens: 6, total_tokens: 18 } })}\n\n` +
  "data: [DONE]\n\n";

let openSlow = 0;
/** Holds a stream open: first chunk now, one word a second, ended by the client or after 120 s. */
function slowStream(res: import("node:http").ServerResponse): void {
  openSlow++;
  res.writeHead(200, { "content-type": "text/event-stream" });
  res.write(chunk({ role: "assistant", content: "" }, null) + chunk({ content: "slow " }, null));
  let ticks = 0;
  const timer = setInterval(() => {
    if (++ticks >= 120) return void res.end(chunk({}, "stop") + "data: [DONE]\n\n");
    res.write(chunk({ content: "word " }, null));
  }, 1_000);
  res.once("close", () => {
    clearInterval(timer);
    openSlow--;
  });
}

/** Holds a unary request: no answer until the client goes away, or the canned one after 120 s. */
function slowUnary(res: import("node:http").ServerResponse): void {
  openSlow++;
  const timer = setTimeout(() => res.writeHead(200, { "content-type": "application/json" }).end(unary), 120_000);
  res.once("close", () => {
    clearTimeout(timer);
    openSlow--;
  });
}

const server = createServer((req, res) => {
  if (req.method === "GET" && req.url === "/open") return void res.end(String(openSlow));
  let body = "";
  req.on("data", (c: Buffer) => (body += c.toString()));
  req.on("end", () => {
    const answer = () => {
      if (body.includes('"stream":true') && body.includes("bench-slow-stream")) {
        slowStream(res);
      } else if (body.includes("bench-slow-unary")) {
        slowUnary(res);
      } else if (body.includes('"stream":true')) {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.end(stream);
      } else {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(unary);
      }
    };
    if (delayMs > 0) setTimeout(answer, delayMs);
    else answer();
  });
});
server.keepAliveTimeout = 65_000;
server.listen(port, "127.0.0.1", () => {
  const address = server.address();
  process.stdout.write(`${typeof address === "object" && address ? address.port : port}\n`);
});
