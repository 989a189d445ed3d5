import type { EmbedCallResult } from "../pipeline/model-call.js";
import type { EmbedRequest, JsonObject } from "../providers/model.js";
import { numberField, requiredString, stringField } from "./json-fields.js";
import { invalidField } from "./openai-request-error.js";
import { BOUNDS, checkBytes } from "./request-bounds.js";

/** A parsed `POST /v1/embeddings` body. */
export interface EmbeddingsRequest {
  /** `model`: the route alias. */
  route: string;
  request: EmbedRequest;
  encoding: "float" | "base64";
  user?: string;
}

/** OpenAI's limit on inputs per request. */
const MAX_INPUTS = 2048;

/**
 * Maps an OpenAI Embeddings body to the neutral request: `input` is one string or an array of
 * non-empty strings (token-id arrays are refused: route targets tokenize differently);
 * `dimensions` shortens vectors on models that can; `encoding_format` is `float` (default) or
 * `base64`.
 */
export function parseEmbeddingsRequest(body: JsonObject): EmbeddingsRequest {
  const route = requiredString(body, "model");
  const input = body.input;
  const inputs = typeof input === "string" ? [input] : input;
  if (!Array.isArray(inputs) || inputs.length === 0) throw invalidField("input", "'input' must be a string or a non-empty array of strings");
  if (inputs.length > MAX_INPUTS) throw invalidField("input", `'input' may hold at most ${MAX_INPUTS} items`);
  inputs.forEach((s, i) => {
    if (typeof s !== "string") throw invalidField(`input[${i}]`, "'input' must hold strings (token arrays are not supported)");
    if (s === "") throw invalidField(`input[${i}]`, "'input' must not hold empty strings");
    // The Embed verb's bound on one input (`EmbedRequest.inputs`).
    checkBytes(s, BOUNDS.embedInputBytes, `input[${i}]`);
  });
  const dimensions = numberField(body, "dimensions", { min: 1, max: 65_536, integer: true });
  const encoding = stringField(body, "encoding_format") ?? "float";
  if (encoding !== "float" && encoding !== "base64") throw invalidField("encoding_format", "'encoding_format' must be float or base64");
  const user = stringField(body, "user", "user", 256);
  return {
    route,
    request: { model: "", inputs: inputs as string[], ...(dimensions === undefined ? {} : { dimensions }) },
    encoding,
    ...(user === undefined ? {} : { user }),
  };
}

/**
 * A completed embeddings call as OpenAI's list object. `base64` vectors are the little-endian
 * float32 bytes of each vector, which is what OpenAI sends and its SDKs decode.
 */
export function embeddingsResponseOf(result: EmbedCallResult, encoding: "float" | "base64"): Record<string, unknown> {
  const { vectors, usage } = result.response;
  return {
    object: "list",
    data: vectors.map((v, index) => ({ object: "embedding", index, embedding: encoding === "base64" ? float32Base64(v) : v })),
    model: result.model,
    usage: { prompt_tokens: usage.inputTokens, total_tokens: usage.inputTokens },
  };
}

function float32Base64(v: readonly number[]): string {
  const buf = Buffer.alloc(v.length * 4);
  v.forEach((x, i) => buf.writeFloatLE(x, i * 4));
  return buf.toString("base64");
}
