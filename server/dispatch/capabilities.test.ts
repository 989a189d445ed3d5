import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { CapabilityMissingSchema } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { capableTargets, requiredCapabilities } from "./capabilities.js";
import { chatRequest, route } from "./testing/harness.js";
import { answer, createScriptedProvider } from "./testing/scripted-provider.js";

describe("requiredCapabilities", () => {
  it("derives what the request uses", () => {
    expect(requiredCapabilities(chatRequest(), "chat")).toEqual([]);
    expect(requiredCapabilities(chatRequest(), "chatStream")).toEqual(["streaming"]);
    expect(
      requiredCapabilities(
        chatRequest("x", {
          tools: [{ name: "f" }],
          parallelToolCalls: true,
          responseFormat: { type: "json_schema", name: "s", schema: {}, strict: true },
          messages: [{ role: "user", content: [{ type: "image", url: "https://x/y.png" }] }],
        }),
        "chat",
      ),
    ).toEqual(["tools", "parallelToolCalls", "jsonSchema", "vision"]);
    expect(requiredCapabilities(chatRequest("x", { responseFormat: { type: "json_object" } }), "chat")).toEqual(["jsonObject"]);
    expect(requiredCapabilities({ model: "e", inputs: ["a"] }, "embed")).toEqual(["embeddings"]);
  });
});

describe("capableTargets", () => {
  const full = createScriptedProvider({ kind: "full", script: [answer("x")] });
  const plain = createScriptedProvider({ kind: "plain", capabilities: { tools: false, jsonSchema: false }, script: [answer("x")] });
  const providerOf = (k: string) => ({ full, plain })[k as "full" | "plain"];

  it("keeps only targets that can serve the request, in route order", () => {
    const r = route([{ provider: "plain", model: "a" }, { provider: "full", model: "b" }, { provider: "nope", model: "c" }]);
    expect(capableTargets(r, ["tools"], providerOf).map((c) => c.targetIndex)).toEqual([1]);
    expect(capableTargets(r, [], providerOf).map((c) => c.targetIndex)).toEqual([0, 1]);
  });
  it("fails with FailedPrecondition and a CapabilityMissing detail when none is left", () => {
    const r = route([{ provider: "plain", model: "a" }]);
    let caught: unknown;
    try {
      capableTargets(r, ["tools", "jsonSchema", "streaming"], providerOf);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ConnectError);
    const err = caught as ConnectError;
    expect(err.code).toBe(Code.FailedPrecondition);
    const [detail] = err.findDetails(CapabilityMissingSchema);
    expect(detail?.capabilities).toEqual(["tools", "json_schema"]);
    expect(detail?.route).toBe("test");
    expect(detail?.targets).toEqual(["plain/a"]);
  });
  it("fails with Internal when no target has a registered provider", () => {
    expect(() => capableTargets(route([{ provider: "nope", model: "a" }]), [], providerOf)).toThrow(
      expect.objectContaining({ code: Code.Internal }),
    );
  });
});
