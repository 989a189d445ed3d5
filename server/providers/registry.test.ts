import { readdirSync, readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { createHttpClient } from "./http/http-client.js";
import { createProviderRegistry, PROVIDER_DECLARATIONS } from "./registry.js";

const http = createHttpClient();
afterAll(() => http.close());

describe("provider registry", () => {
  const registry = createProviderRegistry({ http });

  it("builds an adapter for every declared kind that reports that kind and those capabilities", () => {
    for (const decl of PROVIDER_DECLARATIONS) {
      const provider = registry.get(decl.kind, decl.defaultBaseUrl ?? "http://127.0.0.1:9");
      expect(provider, decl.kind).toBeDefined();
      expect(provider!.kind).toBe(decl.kind);
      expect(provider!.capabilities).toEqual(decl.capabilities);
      expect(provider!.limits, `${decl.kind} limits`).toEqual(decl.limits);
      expect(typeof provider!.embed === "function", `${decl.kind} embed`).toBe(decl.capabilities.embeddings);
    }
  });

  it("declares the stop-sequence bounds the providers document, and none where they document none", () => {
    const maxStops = Object.fromEntries(PROVIDER_DECLARATIONS.map((d) => [d.kind, d.limits.maxStopSequences]));
    expect(maxStops).toMatchObject({ openai: 4, azure: 4, gemini: 5, anthropic: undefined, mistral: undefined });
  });

  it("declares the sampling penalties each adapter sends, and none for Anthropic (which has none) or the sandbox (which ignores them)", () => {
    const penalties = Object.fromEntries(PROVIDER_DECLARATIONS.map((d) => [d.kind, [...(d.limits.samplingPenalties ?? [])].sort()]));
    const both = ["frequencyPenalty", "presencePenalty"];
    const all = ["frequencyPenalty", "logitBias", "presencePenalty"];
    expect(penalties).toEqual({
      openai: all,
      azure: all,
      anthropic: [],
      gemini: both,
      groq: both,
      mistral: both,
      deepseek: both,
      together: both,
      fireworks: both,
      openrouter: both,
      vllm: both,
      ollama: both,
      sandbox: [],
    });
  });

  it("reuses one adapter per kind and endpoint", () => {
    expect(registry.get("openai")).toBe(registry.get("openai"));
    expect(registry.get("openai", "http://127.0.0.1:1/v1")).not.toBe(registry.get("openai"));
  });

  it("knows no unknown kind, and no kind without an endpoint", () => {
    expect(registry.get("opnai")).toBeUndefined();
    expect(registry.get("azure")).toBeUndefined();
    expect(registry.get("azure", "https://example.openai.azure.com")).toBeDefined();
  });

  it("is the only module outside the adapters that names a provider kind in code", () => {
    const offenders: string[] = [];
    const kinds = PROVIDER_DECLARATIONS.map((d) => d.kind);
    const scan = (dir: string) => {
      for (const entry of readdirSync(new URL(dir, import.meta.url), { withFileTypes: true })) {
        const path = `${dir}${entry.name}`;
        if (entry.isDirectory()) scan(`${path}/`);
        else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts")) {
          const text = readFileSync(new URL(path, import.meta.url), "utf8");
          for (const kind of kinds) if (new RegExp(`(===|!==|case)\\s*["']${kind}["']`).test(text)) offenders.push(`${path}: ${kind}`);
        }
      }
    };
    for (const dir of ["../dispatch/", "../interceptors/", "../services/"]) {
      try {
        scan(dir);
      } catch {
        // a folder that does not exist yet holds no offenders
      }
    }
    expect(offenders).toEqual([]);
  });
});
