/**
 * Neutral `ModelRequest` → Gemini `GenerateContentRequest`.
 *
 * - system messages (wherever they appear) → `systemInstruction`, in order;
 * - user → `user`, assistant → `model`; tool results → a `user` turn of `functionResponse` parts
 *   (consecutive tool messages share one turn, as Gemini expects for parallel calls);
 * - images: bytes and `data:` URLs → `inlineData` (base64); https URLs → `fileData`;
 * - assistant tool calls → `functionCall {name, args}` (args parsed from `argumentsJson`; Gemini
 *   has no call ids, so none are sent). Gemini 3 models reject a replayed function call without a
 *   `thoughtSignature`; the neutral history cannot carry Gemini's opaque signature, so for those
 *   models the first call of each model turn gets Google's documented bypass value.
 */
import type { JsonObject, JsonValue, ModelContentPart, ModelMessage, ModelRequest, ReasoningEffort } from "../model.js";
import { ProviderError } from "../provider-error.js";
import { toGeminiSchema } from "./schema.js";
import type { GeminiContent, GeminiGenerateRequest, GeminiPart } from "./wire.js";

/** The value Google documents for replayed function calls that have no real thought signature. */
const SKIP_SIGNATURE = "skip_thought_signature_validator";

const IMAGE_TYPES: Readonly<Record<string, string>> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  webp: "image/webp",
  gif: "image/gif",
  heic: "image/heic",
  heif: "image/heif",
};

/** Builds the wire request for `generateContent` / `streamGenerateContent`. */
export function toGeminiRequest(req: ModelRequest): GeminiGenerateRequest {
  const system: GeminiPart[] = [];
  const contents: GeminiContent[] = [];
  const toolNames = new Map<string, string>();
  const needsSignature = /(^|\/)gemini-3/.test(req.model);

  for (const msg of req.messages) {
    if (msg.role === "system") {
      for (const p of msg.content) if (p.type === "text" && p.text !== "") system.push({ text: p.text });
      continue;
    }
    if (msg.role === "tool") {
      const part = functionResponsePart(msg, toolNames);
      const last = contents.at(-1);
      if (last?.role === "user" && last.parts.every((p) => p.functionResponse !== undefined)) last.parts.push(part);
      else contents.push({ role: "user", parts: [part] });
      continue;
    }
    const parts = msg.content.map(toPart).filter((p): p is GeminiPart => p !== undefined);
    if (msg.role === "assistant") {
      (msg.toolCalls ?? []).forEach((call, i) => {
        toolNames.set(call.id, call.name);
        const part: GeminiPart = { functionCall: { name: call.name, args: parseArgs(call.argumentsJson) } };
        if (needsSignature && i === 0) part.thoughtSignature = SKIP_SIGNATURE;
        parts.push(part);
      });
    }
    if (parts.length > 0) contents.push({ role: msg.role === "assistant" ? "model" : "user", parts });
  }

  const out: GeminiGenerateRequest = { contents };
  if (system.length > 0) out.systemInstruction = { parts: system };

  const tools = req.tools ?? [];
  if (tools.length > 0) {
    out.tools = [
      {
        functionDeclarations: tools.map((t) => {
          const params = t.parameters === undefined ? undefined : toGeminiSchema(t.parameters);
          // Gemini rejects an OBJECT with no properties ("should be non-empty"): omit it instead.
          const empty = params === undefined || (params.type === "OBJECT" && Object.keys(asObject(params.properties)).length === 0);
          return { name: t.name, ...(t.description ? { description: t.description } : {}), ...(empty ? {} : { parameters: params }) };
        }),
      },
    ];
    const choice = req.toolChoice;
    if (choice !== undefined) {
      out.toolConfig = {
        functionCallingConfig:
          choice.type === "auto"
            ? { mode: "AUTO" }
            : choice.type === "none"
              ? { mode: "NONE" }
              : choice.type === "required"
                ? { mode: "ANY" }
                : { mode: "ANY", allowedFunctionNames: [choice.name] },
      };
    }
  }

  const gen: NonNullable<GeminiGenerateRequest["generationConfig"]> = {};
  if (req.maxOutputTokens !== undefined) gen.maxOutputTokens = req.maxOutputTokens;
  if (req.temperature !== undefined) gen.temperature = req.temperature;
  if (req.topP !== undefined) gen.topP = req.topP;
  if (req.stop !== undefined && req.stop.length > 0) gen.stopSequences = req.stop;
  if (req.seed !== undefined) gen.seed = req.seed;
  const thinking = req.reasoningEffort === undefined ? undefined : thinkingConfigOf(req.model, req.reasoningEffort);
  if (thinking !== undefined) gen.thinkingConfig = thinking;
  if (req.frequencyPenalty !== undefined) gen.frequencyPenalty = req.frequencyPenalty;
  if (req.presencePenalty !== undefined) gen.presencePenalty = req.presencePenalty;
  const format = req.responseFormat;
  if (format?.type === "json_object") gen.responseMimeType = "application/json";
  if (format?.type === "json_schema") {
    gen.responseMimeType = "application/json";
    gen.responseSchema = toGeminiSchema(format.schema);
  }
  if (Object.keys(gen).length > 0) out.generationConfig = gen;
  return out;
}

/**
 * Thinking budgets for Gemini 2.x: LiteLLM's effort budgets (low 1,024, medium 2,048, high 4,096),
 * with `minimal` at 512, the least every 2.5 model takes (Pro 128–32,768 and cannot turn thinking
 * off; Flash 0–24,576; Flash-Lite 0 or 512–24,576; Gemini API "Thinking" guide).
 */
const THINKING_BUDGET: Readonly<Record<ReasoningEffort, number>> = Object.freeze({ minimal: 512, low: 1024, medium: 2048, high: 4096 });
/**
 * Thinking levels for Gemini 3 and later, which take `thinkingLevel` instead of a budget: Gemini 3
 * Pro takes only "low" and "high" (Flash also "minimal" and "medium"), so efforts go to the two
 * every model takes.
 */
const THINKING_LEVEL: Readonly<Record<ReasoningEffort, "low" | "high">> = Object.freeze({ minimal: "low", low: "low", medium: "high", high: "high" });

/**
 * The `thinkingConfig` for the model id (a resource path's last segment counts): a budget for
 * `gemini-2.5*`, a level for `gemini-3*` and later; none for other models (Gemini 1.x and 2.0 do
 * not think, and an alias such as `gemini-flash-latest` does not say which kind it takes), which
 * then answer without it.
 */
function thinkingConfigOf(model: string, effort: ReasoningEffort): { thinkingBudget: number } | { thinkingLevel: "low" | "high" } | undefined {
  if (/(^|\/)gemini-2\.5/.test(model)) return { thinkingBudget: THINKING_BUDGET[effort] };
  if (/(^|\/)gemini-([3-9]|\d{2,})(\.|-|$)/.test(model)) return { thinkingLevel: THINKING_LEVEL[effort] };
  return undefined;
}

function asObject(v: JsonValue | undefined): JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? v : {};
}

function toPart(p: ModelContentPart): GeminiPart | undefined {
  if (p.type === "text") return p.text === "" ? undefined : { text: p.text };
  if (p.data !== undefined) {
    return { inlineData: { mimeType: p.mimeType ?? "image/jpeg", data: Buffer.from(p.data).toString("base64") } };
  }
  const url = p.url ?? "";
  const dataUrl = /^data:([^;,]+)?(;base64)?,(.*)$/s.exec(url);
  if (dataUrl) {
    const mimeType = dataUrl[1] ?? p.mimeType ?? "image/jpeg";
    const data = dataUrl[2] ? dataUrl[3]! : Buffer.from(decodeURIComponent(dataUrl[3]!), "utf8").toString("base64");
    return { inlineData: { mimeType, data } };
  }
  if (url.startsWith("https://")) {
    const ext = /\.([a-z0-9]+)(?:[?#]|$)/i.exec(url)?.[1]?.toLowerCase();
    const mimeType = p.mimeType ?? (ext === undefined ? undefined : IMAGE_TYPES[ext]);
    return { fileData: { fileUri: url, ...(mimeType ? { mimeType } : {}) } };
  }
  throw new ProviderError("bad_request", "image parts must carry bytes, a data: URL or an https URL");
}

function parseArgs(json: string): JsonObject {
  if (json.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (err) {
    throw new ProviderError("bad_request", "a tool call in the history has arguments that are not valid JSON", { cause: err });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ProviderError("bad_request", "a tool call in the history has arguments that are not a JSON object");
  }
  return value as JsonObject;
}

function functionResponsePart(msg: ModelMessage, toolNames: ReadonlyMap<string, string>): GeminiPart {
  const name = msg.name ?? (msg.toolCallId === undefined ? undefined : toolNames.get(msg.toolCallId));
  if (name === undefined) throw new ProviderError("bad_request", "a tool message needs the tool's name for Gemini");
  const text = msg.content.map((p) => (p.type === "text" ? p.text : "")).join("");
  let value: JsonValue;
  try {
    value = JSON.parse(text) as JsonValue;
  } catch {
    value = text;
  }
  const response = typeof value === "object" && value !== null && !Array.isArray(value) ? value : { result: value };
  return { functionResponse: { name, response } };
}
