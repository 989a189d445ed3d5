/**
 * The dispatch layer's own cost: the same chat call sent through the OpenAI adapter directly and
 * through the dispatcher (target order, breaker, retry budget, deadline, attempt records) in front
 * of the same adapter, alternating, against the bench upstream on loopback. Reports p50/p99 of
 * each and the difference, measured in one run.
 *
 *   node --import tsx bench/dispatch.ts [--requests 4000]
 */
import { spawn } from "node:child_process";
import { createDispatcher } from "../server/dispatch/dispatcher.js";
import { withDefaults } from "../server/dispatch/route-types.js";
import { createHttpClient } from "../server/providers/http/http-client.js";
import type { ModelRequest } from "../server/providers/model.js";
import { createOpenAIProvider } from "../server/providers/openai.js";
import { percentile } from "./load.js";

const i = process.argv.indexOf("--requests");
const REQUESTS = i === -1 ? 4_000 : Number(process.argv[i + 1]);
const ROOT = new URL("..", import.meta.url).pathname;

async function main(): Promise<void> {
  const upstream = spawn(process.execPath, ["--import", "tsx", "bench/upstream.ts", "0", "0"], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve) => upstream.stdout!.once("data", (c: Buffer) => resolve(Number(c.toString().trim()))));
  const http = createHttpClient();
  const provider = createOpenAIProvider({ baseUrl: `http://127.0.0.1:${port}/v1`, http });
  const dispatcher = createDispatcher({ provider: () => provider, credential: async () => "sk-bench" });
  const route = withDefaults({ alias: "bench", targets: [{ provider: "openai", model: "gpt-4o-mini", credential: "credentials/openai" }] });
  const req: ModelRequest = { model: "gpt-4o-mini", messages: [{ role: "user", content: [{ type: "text", text: "hello benchmark" }] }] };
  const direct: number[] = [];
  const dispatched: number[] = [];
  const once = async (viaDispatch: boolean) => {
    const t = performance.now();
    if (viaDispatch) await dispatcher.chat(route, req, { signal: AbortSignal.timeout(10_000), deadline: Date.now() + 10_000 });
    else await provider.chat(req, { signal: AbortSignal.timeout(10_000), apiKey: "sk-bench" });
    return performance.now() - t;
  };
  for (let n = 0; n < 500; n++) await once(n % 2 === 0); // warm-up
  for (let n = 0; n < REQUESTS; n++) {
    // Alternate so drift on this noisy machine hits both sides alike.
    if (n % 2 === 0) dispatched.push(await once(true));
    else direct.push(await once(false));
  }
  const row = (name: string, xs: number[]) => `| ${name} | ${percentile(xs, 50).toFixed(3)} | ${percentile(xs, 99).toFixed(3)} |`;
  process.stdout.write(
    [
      `| path (${REQUESTS / 2} sequential calls each) | p50 ms | p99 ms |`,
      "|---|---|---|",
      row("adapter directly", direct),
      row("dispatcher + adapter", dispatched),
      `| **added by dispatch** | ${(percentile(dispatched, 50) - percentile(direct, 50)).toFixed(3)} | ${(percentile(dispatched, 99) - percentile(direct, 99)).toFixed(3)} |`,
      "",
    ].join("\n"),
  );
  await http.close();
  upstream.kill();
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
