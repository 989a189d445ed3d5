/**
 * A wire-faithful fake of OpenAI's Chat Completions and Embeddings APIs: the scripted server with
 * the OpenAI wire format from `server/sandbox/` (the sandbox provider speaks the same format).
 * Replies default to an echo of the last user text, one token per word (see `fake-text.ts`).
 */
import { randomBytes } from "node:crypto";
import { openAIEnvelope, type OpenAIErrorBody } from "../../server/sandbox/openai-errors.js";
import { createOpenAIWire } from "../../server/sandbox/openai-wire.js";
import { startScriptedServer } from "../../server/sandbox/scripted-server.js";
import type { WireFormat, WirePlan, WireRequest } from "../../server/sandbox/scripted-server.js";
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
  const wire = createOpenAIWire({ maxStop: OPENAI_MAX_STOP });
  return { ...wire, plan: (req, step) => reasoningEffortRefusal(req) ?? reasoningSamplingRefusal(req) ?? wire.plan(req, step) };
}

/**
 * OpenAI's 400 for a `temperature` or `top_p` other than the default (1) sent to a reasoning model
 * (the o-series, GPT-5 and its point releases but the -chat variants), else undefined. OpenAI's
 * wording varies by model (`temperature` is `unsupported_value` on o1-mini and o3, and
 * `unsupported_parameter` on o1 and o3-mini); the fake answers `temperature` as the former and
 * `top_p` as the latter, each in OpenAI's envelope with its param. `stop`, the penalties and
 * `logit_bias` are refused at any value, as `unsupported_parameter`.
 */
function reasoningSamplingRefusal(req: WireRequest): WirePlan | undefined {
  if (req.method !== "POST" || !req.path.endsWith("/chat/completions")) return undefined;
  const body = req.body as { model?: unknown; temperature?: unknown; top_p?: unknown; presence_penalty?: unknown; frequency_penalty?: unknown; logit_bias?: unknown; stop?: unknown } | null;
  if (typeof body !== "object" || body === null || typeof body.model !== "string") return undefined;
  const model = body.model.toLowerCase().replace(/^ft:([^:]+):.*$/, "$1");
  if (!/^o\d+(-|$)/.test(model) && !(/^gpt-5(\.\d+)?(-|$)/.test(model) && !/(^|-)chat(-|$)/.test(model))) return undefined;
  const refuse = (error: OpenAIErrorBody) => openAIEnvelope(400, `req_${randomBytes(16).toString("hex")}`, error);
  if (body.temperature !== undefined && body.temperature !== 1) {
    return refuse({ message: `Unsupported value: 'temperature' does not support ${String(body.temperature)} with this model. Only the default (1) value is supported.`, type: "invalid_request_error", param: "temperature", code: "unsupported_value" });
  }
  if (body.top_p !== undefined && body.top_p !== 1) {
    return refuse({ message: "Unsupported parameter: 'top_p' is not supported with this model.", type: "invalid_request_error", param: "top_p", code: "unsupported_parameter" });
  }
  for (const param of ["stop", "presence_penalty", "frequency_penalty", "logit_bias"] as const) {
    if (body[param] !== undefined) {
      return refuse({ message: `Unsupported parameter: '${param}' is not supported with this model.`, type: "invalid_request_error", param, code: "unsupported_parameter" });
    }
  }
  return undefined;
}

/**
 * OpenAI's 400 for a `reasoning_effort` the model does not take, in the envelope OpenAI sends,
 * else undefined. A deny-list of what OpenAI is known to refuse, so a model id the fake does not
 * know (the tests' `m`, `my-o4`) is answered as before:
 * - chat models that do not reason (GPT-3.5, GPT-4, GPT-4o, GPT-4.1, `chatgpt-4o-latest`, the
 *   GPT-5 `-chat` variants): "Unrecognized request argument supplied: reasoning_effort", no param
 *   or code — the body gpt-4o and gpt-4o-mini answer;
 * - `o1-mini` and `o1-preview`, reasoning models without the control: `unsupported_parameter`;
 * - `minimal` where only GPT-5 (gpt-5, -mini, -nano) takes it: the o-series take low, medium and
 *   high, GPT-5.1 and later none, low, medium and high — `unsupported_value`.
 */
function reasoningEffortRefusal(req: WireRequest): WirePlan | undefined {
  if (req.method !== "POST" || !req.path.endsWith("/chat/completions")) return undefined;
  const body = req.body as { model?: unknown; reasoning_effort?: unknown } | null;
  if (typeof body !== "object" || body === null || typeof body.model !== "string" || body.reasoning_effort === undefined) return undefined;
  const model = body.model.toLowerCase().replace(/^ft:([^:]+):.*$/, "$1");
  const refuse = (error: OpenAIErrorBody) => openAIEnvelope(400, `req_${randomBytes(16).toString("hex")}`, error);
  if (/^(gpt-3\.5|gpt-4|chatgpt-)/.test(model) || /^gpt-5(\.\d+)?-chat(-|$)/.test(model)) {
    return refuse({ message: "Unrecognized request argument supplied: reasoning_effort", type: "invalid_request_error", param: null, code: null });
  }
  if (/^o1-(mini|preview)(-|$)/.test(model)) {
    return refuse({ message: "Unsupported parameter: 'reasoning_effort' is not supported with this model.", type: "invalid_request_error", param: "reasoning_effort", code: "unsupported_parameter" });
  }
  const takes = /^o\d/.test(model) ? "'low', 'medium', and 'high'" : /^gpt-5\.\d/.test(model) ? "'none', 'low', 'medium', and 'high'" : undefined;
  if (body.reasoning_effort === "minimal" && takes !== undefined) {
    return refuse({ message: `Unsupported value: 'minimal' is not supported with the '${body.model}' model. Supported values are: ${takes}.`, type: "invalid_request_error", param: "reasoning_effort", code: "unsupported_value" });
  }
  return undefined;
}
