/**
 * `toGeminiRequest` directly: what the fake-driven adapter tests leave loose — a tool result after
 * a user's text opens its own turn, the signature bypass only for `gemini-3` model names,
 * a forced tool's allowed name, percent-encoded data URLs, the data URL's own MIME type winning,
 * function responses that are arrays, tool descriptions and empty parameter objects.
 */
import { describe, expect, it } from "vitest";
import type { ModelRequest } from "../model.js";
import { toGeminiRequest } from "./request.js";

const call = { id: "call_0", name: "weather", argumentsJson: "{}" };

describe("gemini toGeminiRequest", () => {
  it("puts a tool result after user text in a turn of its own, and wraps a JSON array result", () => {
    const wire = toGeminiRequest({
      model: "gemini-2.5-flash",
      messages: [
        { role: "assistant", content: [], toolCalls: [call] },
        { role: "user", content: [{ type: "text", text: "also" }] },
        { role: "tool", toolCallId: "call_0", content: [{ type: "text", text: "[1,2]" }] },
      ],
    });
    expect(wire.contents).toEqual([
      { role: "model", parts: [{ functionCall: { name: "weather", args: {} } }] },
      { role: "user", parts: [{ text: "also" }] },
      { role: "user", parts: [{ functionResponse: { name: "weather", response: { result: [1, 2] } } }] },
    ]);
  });

  it("sends the sampling penalties in generationConfig, and none it was not given", () => {
    const messages: ModelRequest["messages"] = [{ role: "user", content: [{ type: "text", text: "hi" }] }];
    const wire = toGeminiRequest({ model: "gemini-2.5-flash", messages, frequencyPenalty: 0.5, presencePenalty: -1 });
    expect(wire.generationConfig).toEqual({ frequencyPenalty: 0.5, presencePenalty: -1 });
    expect(toGeminiRequest({ model: "gemini-2.5-flash", messages }).generationConfig).toBeUndefined();
  });

  it("adds the signature bypass for gemini-3 model names only, resource paths included", () => {
    const sig = (model: string) => toGeminiRequest({ model, messages: [{ role: "assistant", content: [], toolCalls: [call] }] }).contents[0]!.parts[0]!.thoughtSignature;
    expect(sig("gemini-3-pro-preview")).toBe("skip_thought_signature_validator");
    expect(sig("models/gemini-3-flash")).toBe("skip_thought_signature_validator");
    expect(sig("gemini-2.5-flash")).toBeUndefined();
    expect(sig("tuned-gemini-3-copy")).toBeUndefined();
  });

  it("maps every tool choice, a forced tool as ANY with its name allowed", () => {
    const config = (toolChoice: ModelRequest["toolChoice"]) =>
      toGeminiRequest({ model: "g", messages: [], tools: [{ name: "f", description: "does f", parameters: { type: "object", properties: {} } }], toolChoice }).toolConfig;
    expect([{ type: "auto" }, { type: "none" }, { type: "required" }, { type: "tool", name: "f" }].map((c) => config(c as ModelRequest["toolChoice"]))).toEqual([
      { functionCallingConfig: { mode: "AUTO" } },
      { functionCallingConfig: { mode: "NONE" } },
      { functionCallingConfig: { mode: "ANY" } },
      { functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["f"] } },
    ]);
  });

  it("sends a tool's description and omits parameters that are an object without properties", () => {
    const wire = toGeminiRequest({
      model: "g",
      messages: [],
      tools: [
        { name: "now", description: "the time", parameters: { type: "object", properties: {} } },
        { name: "f", parameters: { type: "object", properties: { q: { type: "string" } } } },
      ],
    });
    expect(wire.tools).toEqual([
      {
        functionDeclarations: [
          { name: "now", description: "the time" },
          { name: "f", parameters: { type: "OBJECT", properties: { q: { type: "STRING" } } } },
        ],
      },
    ]);
  });

  it("base64-encodes a percent-encoded data URL; the URL's MIME type wins; an https URL's extension names its type", () => {
    const wire = toGeminiRequest({
      model: "g",
      messages: [
        {
          role: "user",
          content: [
            { type: "image", url: "data:image/svg+xml,%3Csvg%2F%3E" },
            { type: "image", url: "data:image/png;base64,AAAA", mimeType: "image/jpeg" },
            { type: "image", url: "https://x.test/a.webp" },
            { type: "image", url: "https://x.test/a" },
          ],
        },
      ],
    });
    expect(wire.contents[0]!.parts).toEqual([
      { inlineData: { mimeType: "image/svg+xml", data: Buffer.from("<svg/>").toString("base64") } },
      { inlineData: { mimeType: "image/png", data: "AAAA" } },
      { fileData: { fileUri: "https://x.test/a.webp", mimeType: "image/webp" } },
      { fileData: { fileUri: "https://x.test/a" } },
    ]);
  });
});
