import { describe, expect, it } from "vitest";
import { callerResourceNames, parseAttachment, parsePromptName, parsePromptVersionName, promptResourceName } from "./prompt-names.js";

describe("prompt resource names", () => {
  it("round-trips global and org templates, and parses version names", () => {
    for (const name of ["prompts/house", "orgs/acme/prompts/house"]) expect(promptResourceName(parsePromptName(name)!)).toBe(name);
    expect(parsePromptVersionName("orgs/acme/prompts/house/versions/12")).toEqual({ orgName: "acme", name: "house", version: 12 });
    expect(parsePromptVersionName("prompts/house/versions/0")).toBeUndefined();
    expect(parsePromptName("orgs/acme/routes/house")).toBeUndefined();
  });

  it("names a key's key, team and org", () => {
    expect(callerResourceNames("orgs/acme/teams/search/keys/web")).toEqual({ key: "orgs/acme/teams/search/keys/web", team: "orgs/acme/teams/search", org: "orgs/acme" });
    expect(callerResourceNames("orgs/acme/teams/search")).toBeUndefined();
  });

  it("parses each kind of attachment and nothing else", () => {
    expect(parseAttachment("orgs/acme")).toEqual({ kind: "org", orgName: "acme" });
    expect(parseAttachment("orgs/acme/teams/t")).toEqual({ kind: "team", orgName: "acme", teamName: "t" });
    expect(parseAttachment("orgs/acme/teams/t/keys/k")).toEqual({ kind: "key", orgName: "acme", teamName: "t", keyName: "k" });
    expect(parseAttachment("routes/fast.v2")).toEqual({ kind: "route", orgName: null, alias: "fast.v2" });
    expect(parseAttachment("orgs/acme/routes/fast")).toEqual({ kind: "route", orgName: "acme", alias: "fast" });
    for (const bad of ["", "orgs/", "orgs/Acme", "teams/t", "orgs/acme/prompts/p", "orgs/acme/teams/t/keys/k/x"]) expect(parseAttachment(bad), bad).toBeUndefined();
  });
});
