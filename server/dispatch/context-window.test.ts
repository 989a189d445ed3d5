import { Code, ConnectError } from "@connectrpc/connect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { estimateInputTokens } from "../limits/call-estimate.js";
import type { Candidate } from "./capabilities.js";
import { targetsThatFit } from "./context-window.js";
import { chatRequest, route } from "./testing/harness.js";
import { answer, createScriptedProvider } from "./testing/scripted-provider.js";

const provider = createScriptedProvider({ kind: "p", script: [answer("x")] });

/** Candidates with these context windows (undefined: none declared), in route order. */
function candidates(windows: Array<number | undefined>): Candidate[] {
  const r = route(windows.map((w, i) => ({ provider: "p", model: `m${i}`, priority: i, ...(w === undefined ? {} : { contextWindowTokens: w }) })));
  return r.targets.map((target, targetIndex) => ({ target, targetIndex, provider }));
}

describe("targetsThatFit (P23)", () => {
  const req = chatRequest("a prompt of some length ".repeat(40));
  const prompt = estimateInputTokens(req);

  it("keeps, in order, exactly the targets whose window holds the prompt or that declare none", () => {
    fc.assert(
      fc.property(fc.array(fc.option(fc.integer({ min: prompt - 3, max: prompt + 3 }), { nil: undefined }), { minLength: 1, maxLength: 6 }), (windows) => {
        const all = candidates(windows);
        const expected = all.filter((c) => c.target.contextWindowTokens === undefined || prompt <= c.target.contextWindowTokens);
        if (expected.length === 0) {
          expect(() => targetsThatFit(all, req, "r")).toThrow(ConnectError);
          return;
        }
        expect(targetsThatFit(all, req, "r").map((c) => c.targetIndex)).toEqual(expected.map((c) => c.targetIndex));
      }),
    );
  });

  it("fits a prompt exactly as long as the window, and refuses one a token longer, naming the estimate and the largest window", () => {
    expect(targetsThatFit(candidates([prompt]), req, "r")).toHaveLength(1);
    let thrown: unknown;
    try {
      targetsThatFit(candidates([prompt - 1, prompt - 5]), req, "windowed");
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ConnectError);
    expect((thrown as ConnectError).code).toBe(Code.InvalidArgument);
    expect((thrown as ConnectError).rawMessage).toContain(`about ${prompt} tokens`);
    expect((thrown as ConnectError).rawMessage).toContain(`largest ${prompt - 1} tokens`);
    expect((thrown as ConnectError).rawMessage).toContain(`"windowed"`);
  });

  it("does not check embeddings against a chat window", () => {
    const embed = { model: "e", inputs: ["a very long input ".repeat(100)] };
    expect(targetsThatFit(candidates([1, 2]), embed, "r")).toHaveLength(2);
  });
});
