import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { accessLogFields, MAX_LOGGED_ERROR_CHARS } from "./access-log.js";

const fieldsFor = (message: string) => accessLogFields({ requestId: "r", procedure: "p", protocol: "openai", code: "not_found", durationMs: 1, error: new ConnectError(message, Code.NotFound) });

describe("the access-log line's error", () => {
  it("is cut to a bounded length whatever text the caller made the message quote", () => {
    const error = fieldsFor(`route "${"a".repeat(1_000_000)}" is not defined`).error as string;
    expect(error.length).toBeLessThan(MAX_LOGGED_ERROR_CHARS + 64);
  });

  it("still masks a secret that straddles the cut", () => {
    const secret = `sk-${"Z".repeat(60)}`;
    const error = fieldsFor(`${"a".repeat(MAX_LOGGED_ERROR_CHARS - 30)}${secret}${"b".repeat(10_000)}`).error as string;
    expect(error).not.toContain("ZZZZZZZZZZ");
    expect(error).toContain("[sensitive]");
  });
});
