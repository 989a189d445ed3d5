/**
 * Run by `sandbox.test.ts` in a child process: starts a sandbox, leaves a hanging, a slow and a
 * latent request in flight, closes it, and prints how each ended. It never calls `process.exit`:
 * the process ends by itself only if `close()` left no handle behind.
 */
import { createHttpClient } from "../providers/http/http-client.js";
import { createOpenAICompatibleProvider } from "../providers/openai-compatible.js";
import { startSandbox } from "./sandbox.js";

const sandbox = await startSandbox({ slowMs: 60_000 });
const http = createHttpClient();
const provider = createOpenAICompatibleProvider("sandbox", { baseUrl: sandbox.url, http });
const ask = (model: string, text: string) =>
  provider.chat({ model, messages: [{ role: "user", content: [{ type: "text", text }] }] }, { signal: new AbortController().signal }).then(
    () => "answered",
    (err: { kind?: string }) => err.kind ?? "unknown",
  );

const warm = await ask("sandbox-fast", "warm up the connection");
const pending = [ask("sandbox-fast", "[[sandbox:hang]]"), ask("sandbox-fast", "[[sandbox:slow]]"), ask("sandbox-smart", "latency")];
while (sandbox.server.requests().length < 4) await new Promise((resolve) => setTimeout(resolve, 5));
await sandbox.close();
const outcomes = await Promise.all(pending);
await http.close();
process.stdout.write(JSON.stringify([warm, ...outcomes]));
