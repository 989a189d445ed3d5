/**
 * A wire-faithful fake of OpenAI's Chat Completions and Embeddings APIs: the scripted server with
 * the OpenAI wire format from `server/sandbox/` (the sandbox provider speaks the same format).
 * Replies default to an echo of the last user text, one token per word (see `fake-text.ts`).
 */
import { createOpenAIWire } from "../../server/sandbox/openai-wire.js";
import { startScriptedServer } from "../../server/sandbox/scripted-server.js";
import type { WireFormat } from "../../server/sandbox/scripted-server.js";
import type { FakeProvider } from "./fake-types.js";

/**
 * OpenAI's own bound on `stop`: "Up to 4 sequences" (API reference, Create chat completion; also
 * help.openai.com/en/articles/5072263). The fake answers 400 on `stop` above it, as OpenAI does.
 */
const OPENAI_MAX_STOP = 4;

/** Starts the OpenAI fake on a free loopback port; point the adapter at `${fake.url}/v1`. */
export function startOpenAIFake(): Promise<FakeProvider> {
  return startScriptedServer(openAIWireFormat());
}

/** The OpenAI `WireFormat` with the fakes' defaults (a fresh one per fake: its id counter lives in it). */
export function openAIWireFormat(): WireFormat {
  return createOpenAIWire({ maxStop: OPENAI_MAX_STOP });
}
