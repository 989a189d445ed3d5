import { createAnthropicProvider } from "../../../server/providers/anthropic.js";
import { createHttpClient } from "../../../server/providers/http/http-client.js";
import { startAnthropicFake } from "../../fakes/anthropic-fake.js";
import type { ConformanceTarget } from "../conformance-target.js";

/** The Anthropic Messages adapter against its wire-faithful fake. */
export async function createTarget(): Promise<ConformanceTarget> {
  const fake = await startAnthropicFake();
  const http = createHttpClient();
  return {
    name: "anthropic",
    provider: createAnthropicProvider({ baseUrl: fake.url, http }),
    fake,
    chatModel: "claude-sonnet-5-5",
    apiKey: "sk-ant-api03-CANARY-7f3c2a9e1b-conformance",
    close: async () => {
      await http.close();
      await fake.close();
    },
  };
}
