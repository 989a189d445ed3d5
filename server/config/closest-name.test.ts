import { describe, expect, it } from "vitest";
import { closestName } from "./closest-name.js";

describe("closestName", () => {
  it("finds a near typo", () => {
    expect(closestName("opnai", ["openai", "anthropic", "gemini"])).toBe("openai");
    expect(closestName("Server", ["server", "log"])).toBe("server");
  });
  it("prefers the closer of two candidates", () => {
    expect(closestName("datdir", ["data", "dataDir"])).toBe("dataDir");
  });
  it("says nothing when nothing is close", () => {
    expect(closestName("database", ["server", "log"])).toBeUndefined();
    expect(closestName("x", ["yy"])).toBeUndefined();
  });
});

describe("closestName transpositions", () => {
  it("counts a swapped neighbour pair as one edit", () => {
    expect(closestName("prot", ["host", "port", "shutdownGraceMs"])).toBe("port");
    expect(closestName("hsot", ["host", "port"])).toBe("host");
  });
});
