import { createHttpClient } from "../../../server/providers/http/http-client.js";
import { createOpenAICompatibleProvider } from "../../../server/providers/openai-compatible.js";
import type { ConformanceTarget } from "../conformance-target.js";
import { startOpenAIFake } from "../../fakes/openai-fake.js";

/**
 * The Groq preset — the OpenAI adapter by composition — pointed at the OpenAI fake under Groq's
 * `/openai/v1` prefix. Groq serves no embeddings, so there is no `embedModel`. Timeouts as in the
 * OpenAI target (1 s to headers, 1 s between chunks).
 */
export async function createTarget(): Promise<ConformanceTarget> {
  const fake = await startOpenAIFake();
  const http = createHttpClient();
  return {
    name: "groq (openai-compatible)",
    provider: createOpenAICompatibleProvider("groq", { baseUrl: `${fake.url}/openai/v1`, http, headersTimeoutMs: 1_000, idleTimeoutMs: 1_000 }),
    fake,
    chatModel: "llama-3.3-70b-versatile",
    apiKey: "gsk_conformance_canary_groq_8c2e71",
    async close() {
      await http.close();
      await fake.close();
    },
  };
}
