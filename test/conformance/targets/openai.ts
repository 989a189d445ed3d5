import { createHttpClient } from "../../../server/providers/http/http-client.js";
import { createOpenAIProvider } from "../../../server/providers/openai.js";
import type { ConformanceTarget } from "../conformance-target.js";
import { startOpenAIFake } from "../../fakes/openai-fake.js";

/**
 * The OpenAI adapter pointed at the OpenAI fake. Timeouts are short (1 s to headers, 1 s between
 * chunks) so the hang and stall cases end quickly; slow-drip delays must stay below that.
 */
export async function createTarget(): Promise<ConformanceTarget> {
  const fake = await startOpenAIFake();
  const http = createHttpClient();
  return {
    name: "openai",
    provider: createOpenAIProvider({ baseUrl: `${fake.url}/v1`, http, headersTimeoutMs: 1_000, idleTimeoutMs: 1_000 }),
    fake,
    chatModel: "gpt-4o-mini",
    embedModel: "text-embedding-3-small",
    apiKey: "sk-conformance-canary-openai-4b1d9e",
    async close() {
      await http.close();
      await fake.close();
    },
  };
}
