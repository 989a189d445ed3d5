/**
 * The sandbox's simulated model: decides each request's step (reply, fault, delay) from the
 * model's spec, the prompt's directives and a seeded generator. Requests it cannot place (not a
 * POST to `/chat/completions` or `/embeddings`, malformed bodies) get an empty step, so the wire
 * format answers them with OpenAI's own 400/404 envelopes.
 */
import { composeAnswer } from "./answers.js";
import { readDirectives } from "./directives.js";
import { sampleJson } from "./json-sample.js";
import type { SandboxFault, SandboxModelSpec } from "./models.js";
import { embeddingInputs, lastUserText, messageText, type OpenAIJson } from "./openai-request.js";
import type { StepDirector, WireRequest } from "./scripted-server.js";
import type { Fault, Reply, ScriptStep } from "./script-types.js";
import { createRandom, hash32 } from "./seeded.js";

/** Options of {@link createSandboxDirector}. */
export interface SandboxDirectorOptions {
  models: readonly SandboxModelSpec[];
  seed: number;
  /** Extra time to first byte of a `slow` request, in ms. */
  slowMs: number;
}

/**
 * Creates the director. Each model draws its failures from its own generator (seeded by the
 * sandbox seed and the model id), one draw per request in arrival order, so a run of N requests
 * fails the same number of times on every machine.
 */
export function createSandboxDirector(opts: SandboxDirectorOptions): StepDirector {
  const byId = new Map(opts.models.map((m) => [m.id, m]));
  const known = opts.models.map((m) => m.id).join(", ");
  const draws = new Map(opts.models.map((m) => [m.id, createRandom(hash32(m.id, opts.seed))]));

  const drawFailure = (m: SandboxModelSpec): SandboxFault | undefined => {
    const rate = m.failureRate ?? 0;
    if (rate <= 0) return undefined;
    const random = draws.get(m.id)!;
    const failing = random() < rate;
    const failures = m.failures ?? [503];
    const which = failures[Math.floor(random() * failures.length)];
    return failing ? which : undefined;
  };

  return (req: WireRequest): ScriptStep => {
    const op = req.path.endsWith("/chat/completions") ? "chat" : req.path.endsWith("/embeddings") ? "embedding" : undefined;
    const body = req.body;
    if (req.method !== "POST" || op === undefined || typeof body !== "object" || body === null || Array.isArray(body)) return {};
    const b = body as OpenAIJson;
    if (typeof b.model !== "string" || b.model === "") return {};
    const model = byId.get(b.model);
    if (model === undefined) {
      return { fault: { kind: "status", status: 404, message: `The model \`${b.model}\` does not exist in the sandbox. It serves: ${known}.` } };
    }
    if (model.type !== op) {
      const use = model.type === "chat" ? "a chat model: use /v1/chat/completions" : "an embedding model: use /v1/embeddings";
      return { fault: { kind: "status", status: 400, message: `\`${model.id}\` is ${use}.` } };
    }

    const messages = Array.isArray(b.messages) ? (b.messages as OpenAIJson[]) : [];
    const inputs = op === "chat" ? [lastUserText(messages)] : embeddingInputs(b.input) ?? [];
    const asked = inputs.map(readDirectives);
    const drawn = drawFailure(model);
    const faults = [...asked.flatMap((d) => d.faults), ...(drawn === undefined ? [] : [drawn])];
    const slow = faults.includes("slow");
    const hard = faults.find((f) => f !== "slow");
    const delayMs = (model.latencyMs ?? 0) + (slow ? opts.slowMs : 0);

    const reply: Reply =
      op === "embedding" ? { dimensions: model.dimensions ?? 256 } : chatReply(b, messages, model, opts.seed, asked[0]?.text ?? "");
    return { reply, ...(hard === undefined ? {} : { fault: toFault(hard) }), ...(delayMs > 0 ? { delayMs } : {}) };
  };
}

/** A fault name as the scripted server's fault. */
function toFault(f: Exclude<SandboxFault, "slow">): Fault {
  if (f === "cut") return { kind: "cut" };
  if (f === "hang") return { kind: "hang" };
  return { kind: "status", status: f, ...(f === 429 ? { retryAfterSeconds: 1 } : {}) };
}

/**
 * The chat reply: a call of the named (or first) tool while tools are offered and the last turn is
 * not a tool's result; a schema-conforming JSON value for `json_schema`; `{"answer": …}` for
 * `json_object`; otherwise the composed answer.
 */
function chatReply(b: OpenAIJson, messages: OpenAIJson[], model: SandboxModelSpec, seed: number, prompt: string): Reply {
  const last = messages.at(-1);
  const tools = (Array.isArray(b.tools) ? b.tools : []) as OpenAIJson[];
  const choice = b.tool_choice;
  if (tools.length > 0 && choice !== "none" && last?.role !== "tool") {
    const named = typeof choice === "object" && choice !== null ? ((choice as OpenAIJson).function as OpenAIJson | undefined)?.name : undefined;
    const fn = (t: OpenAIJson) => (t.function ?? {}) as OpenAIJson;
    const tool = fn(tools.find((t) => fn(t).name === named) ?? tools[0]!);
    return { toolCalls: [{ name: String(tool.name ?? "tool"), argumentsJson: JSON.stringify(sampleJson(tool.parameters ?? { type: "object" })) }] };
  }
  const answer = () =>
    composeAnswer({
      seed,
      model: model.id,
      verbosity: model.verbosity ?? "brief",
      prompt,
      conversationKey: JSON.stringify(messages.map((m) => [m.role, messageText(m)])),
      ...(last?.role === "tool" ? { toolResult: toolResultOf(messages, last) } : {}),
    });
  const format = (b.response_format ?? {}) as OpenAIJson;
  if (format.type === "json_schema") return { text: JSON.stringify(sampleJson(((format.json_schema ?? {}) as OpenAIJson).schema)) };
  if (format.type === "json_object") return { text: JSON.stringify({ answer: answer() }) };
  return { text: answer() };
}

/** A tool turn's output, with the tool's name looked up from the assistant call it answers. */
function toolResultOf(messages: OpenAIJson[], last: OpenAIJson): { name?: string; content: string } {
  const id = last.tool_call_id;
  for (const m of messages) {
    for (const c of (Array.isArray(m.tool_calls) ? m.tool_calls : []) as OpenAIJson[]) {
      const name = (c.function as OpenAIJson | undefined)?.name;
      if (c.id === id && typeof name === "string") return { name, content: messageText(last) };
    }
  }
  return { content: messageText(last) };
}
