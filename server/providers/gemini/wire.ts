/**
 * Wire types of the Gemini API (Generative Language API, v1beta), as far as the adapter reads or
 * writes them. Private to the Gemini adapter: nothing outside `server/providers/gemini*` imports
 * this file.
 */
import type { JsonObject, JsonValue } from "../model.js";

/** `Part`: one piece of a `Content`. Exactly one data field is set. */
export interface GeminiPart {
  text?: string;
  /** True on thought-summary parts (reasoning, not answer). */
  thought?: boolean;
  /** Opaque signature Gemini 3 requires back on replayed function calls. */
  thoughtSignature?: string;
  inlineData?: { mimeType: string; data: string };
  fileData?: { fileUri: string; mimeType?: string };
  functionCall?: { id?: string; name: string; args?: JsonObject };
  functionResponse?: { id?: string; name: string; response: JsonObject };
}

/** `Content`: one turn. Roles are `user` and `model`. */
export interface GeminiContent {
  role?: "user" | "model";
  parts: GeminiPart[];
}

/** The OpenAPI-3.0-subset `Schema` Gemini accepts for parameters and `responseSchema`. */
export type GeminiSchema = JsonObject;

/** `GenerateContentRequest` (the model is in the URL). */
export interface GeminiGenerateRequest {
  contents: GeminiContent[];
  systemInstruction?: GeminiContent;
  tools?: Array<{ functionDeclarations: Array<{ name: string; description?: string; parameters?: GeminiSchema }> }>;
  toolConfig?: { functionCallingConfig: { mode: "AUTO" | "ANY" | "NONE"; allowedFunctionNames?: string[] } };
  generationConfig?: {
    maxOutputTokens?: number;
    temperature?: number;
    topP?: number;
    stopSequences?: string[];
    seed?: number;
    /** OpenAI-semantics penalties (GenerationConfig; Vertex documents -2.0 up to, not including, 2.0). */
    frequencyPenalty?: number;
    presencePenalty?: number;
    responseMimeType?: string;
    responseSchema?: GeminiSchema;
    /** Either `thinkingBudget` (Gemini 2.x) or `thinkingLevel` (Gemini 3): both at once is a 400. */
    thinkingConfig?: { thinkingBudget?: number; thinkingLevel?: "low" | "high" };
  };
}

/** `UsageMetadata`. `promptTokenCount` already includes `cachedContentTokenCount`. */
export interface GeminiUsage {
  promptTokenCount?: number;
  cachedContentTokenCount?: number;
  candidatesTokenCount?: number;
  toolUsePromptTokenCount?: number;
  thoughtsTokenCount?: number;
  totalTokenCount?: number;
}

/** `Candidate`. */
export interface GeminiCandidate {
  content?: { role?: string; parts?: GeminiPart[] };
  finishReason?: string;
  index?: number;
}

/** `GenerateContentResponse`: the unary answer, and each streamed chunk. */
export interface GeminiGenerateResponse {
  candidates?: GeminiCandidate[];
  promptFeedback?: { blockReason?: string };
  usageMetadata?: GeminiUsage;
  modelVersion?: string;
  responseId?: string;
}

/** `EmbedContentRequest` (also one entry of `BatchEmbedContentsRequest.requests`). */
export interface GeminiEmbedRequest {
  model: string;
  content: { parts: Array<{ text: string }> };
  taskType?: "RETRIEVAL_DOCUMENT" | "RETRIEVAL_QUERY";
  outputDimensionality?: number;
}

/** `EmbedContentResponse` / `BatchEmbedContentsResponse`. */
export interface GeminiEmbedResponse {
  embedding?: { values?: number[] };
  embeddings?: Array<{ values?: number[] }>;
}

/** The Google API error envelope (`google.rpc.Status` in JSON). */
export interface GeminiErrorBody {
  error?: {
    code?: number;
    message?: string;
    status?: string;
    details?: Array<{ "@type"?: string; retryDelay?: string; reason?: string; [key: string]: JsonValue | undefined }>;
  };
}
