import { describe, expect, it } from "vitest";
import { cacheOf, requestIdOf, tagsOf, templatePinOf, timeoutOf, verbContextFor } from "./call-meta.js";
import type { JsonObject } from "../providers/model.js";
import { stringMapField } from "./json-fields.js";
import { OpenAIRequestError } from "./openai-request-error.js";
import { testPrincipal } from "../../test/support/principal.js";

const principal = testPrincipal({ tags: { app: "checkout", env: "prod" } });

describe("call-meta", () => {
  it("keeps a well-formed x-request-id and replaces anything else", () => {
    expect(requestIdOf({ "x-request-id": "req-1:a.b" })).toBe("req-1:a.b");
    expect(requestIdOf({ "x-request-id": "bad id\n" })).toMatch(/^[0-9a-f-]{36}$/);
    expect(requestIdOf({})).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("reads the timeout from x-switchboard-timeout-ms, else the SDK's x-stainless-timeout", () => {
    expect(timeoutOf({ "x-switchboard-timeout-ms": "2500", "x-stainless-timeout": "600" })).toBe(2500);
    // The TS SDK's whole seconds are rounded down (600.0–600.999 s); the Python SDK's float is exact.
    expect(timeoutOf({ "x-stainless-timeout": "600" })).toBe(601_000);
    expect(timeoutOf({ "x-stainless-timeout": "600.0" })).toBe(600_000);
    expect(timeoutOf({ "x-stainless-timeout": "1.5" })).toBe(1_500);
    expect(timeoutOf({})).toBeUndefined();
    expect(() => timeoutOf({ "x-switchboard-timeout-ms": "soon" })).toThrow(OpenAIRequestError);
  });

  it("merges tags: the key's, then metadata, then the header (percent-decoded)", () => {
    expect(tagsOf(principal, { env: "staging", feature: "a" }, "feature=b, note=x%2Cy")).toEqual({ app: "checkout", env: "staging", feature: "b", note: "x,y" });
    expect(() => tagsOf(principal, undefined, "novalue")).toThrow(OpenAIRequestError);
    expect(() => tagsOf(principal, { "bad key": "x" }, undefined)).toThrow(OpenAIRequestError);
    expect(() => tagsOf(principal, Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, "v"])), undefined)).toThrow(OpenAIRequestError);
  });

  it("refuses the tag key __proto__ from the body's metadata or the header instead of losing it", () => {
    const metadata = stringMapField(JSON.parse('{"metadata": {"__proto__": "x", "feature": "a"}}') as JsonObject, "metadata");
    expect(Object.keys(metadata!)).toEqual(["__proto__", "feature"]);
    const refusal = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        return err;
      }
      return undefined;
    };
    for (const err of [refusal(() => tagsOf(principal, metadata, undefined)), refusal(() => tagsOf(principal, undefined, "feature=a,__proto__=x"))]) {
      expect(err).toBeInstanceOf(OpenAIRequestError);
      expect((err as OpenAIRequestError).rawMessage).toBe('tag key "__proto__" is reserved');
    }
    // Keys that are only Object.prototype members stay ordinary tags.
    expect(tagsOf(principal, undefined, "constructor=a,toString=b")).toMatchObject({ constructor: "a", toString: "b" });
  });

  it("reads the cache mode and max-age", () => {
    expect(cacheOf(undefined)).toEqual({ mode: "default" });
    expect(cacheOf("no-store")).toEqual({ mode: "no_store" });
    expect(cacheOf("default; max-age=60")).toEqual({ mode: "default", maxAgeMs: 60_000 });
    expect(() => cacheOf("sometimes")).toThrow(OpenAIRequestError);
    expect(() => cacheOf("bypass; ttl=3")).toThrow(OpenAIRequestError);
    // Names an object literal answers through its prototype are no modes.
    for (const name of ["constructor", "__proto__", "hasownproperty", "valueof"]) expect(() => cacheOf(name), name).toThrow(OpenAIRequestError);
  });

  it("builds the verb context with the caller's tenancy", () => {
    const signal = new AbortController().signal;
    const rateStanding = {};
    const ctx = verbContextFor({
      route: "fast",
      requestId: "r1",
      signal,
      deadline: 123,
      principal,
      headers: { "x-switchboard-cache": "bypass", "x-switchboard-tags": "feature=f" },
      metadata: { team: "t" },
      generation: { maxOutputTokens: 10 },
      rateStanding,
    });
    expect(ctx).toEqual({
      route: "fast",
      requestId: "r1",
      signal,
      deadline: 123,
      tags: { app: "checkout", env: "prod", team: "t", feature: "f" },
      cache: { mode: "bypass" },
      capabilities: { jsonSchema: false },
      caller: { orgId: "org_1", teamId: "team_1", keyId: "key_1" },
      rateStanding,
      generation: { maxOutputTokens: 10 },
    });
    expect(ctx.rateStanding).toBe(rateStanding);
  });

  it("records the body's user as the end_user tag, over a caller-set tag of that name", () => {
    const base = { route: "fast", requestId: "r1", signal: new AbortController().signal, deadline: 1, principal, rateStanding: {} };
    const ctx = verbContextFor({ ...base, headers: { "x-switchboard-tags": "end_user=spoofed" }, endUser: "user-42" });
    expect(ctx.tags).toEqual({ app: "checkout", env: "prod", end_user: "user-42" });
    expect(verbContextFor({ ...base, headers: {} }).tags).not.toHaveProperty("end_user");
  });

  it("reads a pinned template from x-switchboard-template: a name, optionally @version", () => {
    expect(templatePinOf(undefined)).toBeUndefined();
    expect(templatePinOf(" ")).toBeUndefined();
    expect(templatePinOf("prompts/greeting")).toEqual({ name: "prompts/greeting", version: 0 });
    expect(templatePinOf("orgs/acme/prompts/greeting@3")).toEqual({ name: "orgs/acme/prompts/greeting", version: 3 });
    for (const bad of ["greeting", "prompts/Greeting", "prompts/greeting@", "prompts/greeting@v2", "prompts/greeting@99999999999", "orgs/acme/routes/x"]) {
      expect(() => templatePinOf(bad), bad).toThrow(OpenAIRequestError);
    }
  });
});
