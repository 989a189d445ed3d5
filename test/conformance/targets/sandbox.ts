import { createHttpClient } from "../../../server/providers/http/http-client.js";
import { createOpenAICompatibleProvider } from "../../../server/providers/openai-compatible.js";
import { startSandbox } from "../../../server/sandbox/sandbox.js";
import type { ConformanceTarget } from "../conformance-target.js";

/**
 * The built-in sandbox provider through its preset (the OpenAI adapter reporting kind `sandbox`).
 * The sandbox runs on the same scripted server as the fakes, so the suite drives it the same way:
 * a scripted step overrides the simulation for one request, and unscripted requests get the
 * simulated answers. Timeouts as in the OpenAI target (1 s to headers, 1 s between chunks).
 */
export async function createTarget(): Promise<ConformanceTarget> {
  const sandbox = await startSandbox();
  const http = createHttpClient();
  return {
    name: "sandbox (openai-compatible)",
    provider: createOpenAICompatibleProvider("sandbox", { baseUrl: sandbox.url, http, headersTimeoutMs: 1_000, idleTimeoutMs: 1_000 }),
    fake: sandbox.server,
    chatModel: "sandbox-fast",
    embedModel: "sandbox-embed",
    apiKey: "sk-sandbox-conformance-canary-3d9a61",
    async close() {
      await http.close();
      await sandbox.close();
    },
  };
}
