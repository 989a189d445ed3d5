import { startAnthropicFake } from "../fakes/anthropic-fake.js";
import type { FakeProvider } from "../fakes/fake-types.js";
import { startGeminiFake } from "../fakes/gemini-fake.js";
import { startOpenAIFake } from "../fakes/openai-fake.js";
import { startTestGateway, type TestGateway } from "./gateway.js";

/** A gateway in front of the three provider fakes, each reachable as `credentials/<kind>`. */
export interface ProviderFakesGateway {
  gw: TestGateway;
  fakes: Record<"openai" | "anthropic" | "gemini", FakeProvider>;
  /** Stops the gateway, then the fakes. */
  close(): Promise<void>;
}

/** Starts the OpenAI, Anthropic and Gemini fakes and a gateway with a credential for each. */
export async function startProviderFakesGateway(): Promise<ProviderFakesGateway> {
  const [openai, anthropic, gemini] = await Promise.all([startOpenAIFake(), startAnthropicFake(), startGeminiFake()]);
  const fakes = { openai, anthropic, gemini };
  const gw = await startTestGateway({
    baseUrls: { openai: `${openai.url}/v1`, anthropic: anthropic.url, gemini: gemini.url },
    credentials: new Map([
      ["credentials/openai", "sk-openai-test"],
      ["credentials/anthropic", "sk-ant-test"],
      ["credentials/gemini", "gemini-test"],
    ]),
  }).catch(async (err: unknown) => {
    await Promise.all(Object.values(fakes).map((f) => f.close()));
    throw err;
  });
  return {
    gw,
    fakes,
    async close() {
      await gw.close();
      await Promise.all(Object.values(fakes).map((f) => f.close()));
    },
  };
}
