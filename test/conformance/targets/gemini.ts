/**
 * The Gemini adapter pointed at the Gemini fake, for the shared conformance suite. Timeouts are
 * short (1 s to headers, 1 s between chunks) so the hang and stall cases end quickly; slow-drip
 * delays must stay below that.
 */
import { createGeminiProvider } from "../../../server/providers/gemini.js";
import { createHttpClient } from "../../../server/providers/http/http-client.js";
import { startGeminiFake } from "../../fakes/gemini-fake.js";
import type { ConformanceTarget } from "../conformance-target.js";

/** Starts a Gemini fake and an adapter on its own HTTP client; `close` stops both. */
export async function createTarget(): Promise<ConformanceTarget> {
  const fake = await startGeminiFake();
  const http = createHttpClient();
  return {
    name: "gemini",
    provider: createGeminiProvider({ baseUrl: fake.url, http, headersTimeoutMs: 1_000, idleTimeoutMs: 1_000 }),
    fake,
    chatModel: "gemini-2.5-flash",
    embedModel: "gemini-embedding-001",
    apiKey: "AIzaSy-CONFORMANCE-CANARY-gemini-4e1f",
    async close() {
      await http.close();
      await fake.close();
    },
  };
}
