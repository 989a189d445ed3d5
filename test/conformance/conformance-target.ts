import type { Provider } from "../../server/providers/provider.js";
import type { FakeProvider } from "../fakes/fake-types.js";

/** One adapter pointed at its wire-faithful fake, for the shared conformance suite. */
export interface ConformanceTarget {
  /** Label in test names, e.g. "openai" or "groq (openai-compatible)". */
  name: string;
  /** The adapter under test, pointed at `fake`. */
  provider: Provider;
  fake: FakeProvider;
  chatModel: string;
  /** Present when `provider.capabilities.embeddings`. */
  embedModel?: string;
  /** A canary secret the suite checks never leaks into errors. */
  apiKey: string;
  close(): Promise<void>;
}
