import { describe, expect, it } from "vitest";
import { prettyLine } from "./pretty.js";

describe("pretty log lines", () => {
  it("puts time, level and message first, then every other field", () => {
    const line = JSON.stringify({ level: "info", time: "2026-01-02T12:04:05.123Z", service: "switchboard", requestId: "r1", code: "ok", durationMs: 3.2, msg: "rpc" });
    expect(prettyLine(line)).toBe("12:04:05.123 \u001b[32mINFO \u001b[0m rpc requestId=r1 code=ok durationMs=3.2\n");
  });
  it("passes a line that is not JSON through", () => {
    expect(prettyLine("plain\n")).toBe("plain\n");
  });
});
