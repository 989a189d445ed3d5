/**
 * Bad input gets a clear error and never an internal one: arbitrary JSON bodies — valid requests
 * with one field replaced by any JSON value (strings of any Unicode, NUL and unpaired surrogates
 * included), and arbitrary JSON documents — sent to both front doors and to the admin services
 * over Connect's JSON codec. Every answer is a success or a 4xx with an error a caller can act on
 * (an OpenAI error envelope with a message; a Connect error with a canonical code other than
 * `internal` and `unknown`, and a message); no handler throws through to the errors interceptor.
 * And nothing an accepted call left behind is unstorable: no usage row goes to the dead letters,
 * no request-log row is refused (the log keeps full bodies here).
 */
import { encodeEnvelope } from "@connectrpc/connect/protocol";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestGateway } from "../support/gateway.js";
import { startPostgresGateway } from "../support/postgres-gateway.js";

let gw: TestGateway;

const post = (path: string, body: string, headers: Record<string, string>) =>
  fetch(`${gw.url}${path}`, { method: "POST", headers: { ...gw.adminHeaders, "x-switchboard-cache": "bypass", ...headers }, body });

beforeAll(async () => {
  gw = await startPostgresGateway({ requestLog: { mode: "full" } });
  // The org and team the admin calls below name, so that valid ones succeed and mutations reach the handlers.
  for (const [procedure, body] of [
    ["TenantService/CreateOrg", { orgId: "fuzz", org: {} }],
    ["TenantService/CreateTeam", { parent: "orgs/fuzz", teamId: "app", team: {} }],
  ] as const) {
    const res = await post(`/switchboard.v1.${procedure}`, JSON.stringify(body), { "content-type": "application/json" });
    expect(res.status, await res.text()).toBe(200);
  }
});
afterAll(async () => {
  await gw?.close();
});

/** One code point of any kind, a NUL and an unpaired surrogate more often than chance would give them. */
const textUnit = fc.oneof(
  { weight: 18, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: fc.constant("\0") },
  { weight: 1, arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)) },
);
const anyText = fc.string({ unit: textUnit, maxLength: 24 });
const anyJson = fc.jsonValue({ maxDepth: 3, stringUnit: textUnit });
/** What the OpenAI surface reads as tags: well-formed keys, values of any text. */
const anyTags = fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9_]{0,7}$/), anyText, { maxKeys: 3 });

/** Every path into `value` (objects' keys, arrays' indexes), the empty path included. */
function pathsOf(value: unknown, prefix: readonly (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [[...prefix]];
  if (Array.isArray(value)) value.forEach((item, i) => out.push(...pathsOf(item, [...prefix, i])));
  else if (value !== null && typeof value === "object") for (const [k, v] of Object.entries(value)) out.push(...pathsOf(v, [...prefix, k]));
  return out;
}

/** `valid` with the value at one of its paths, at any depth, replaced by any text or any JSON. */
function mutatedDeep(valid: Record<string, unknown>) {
  return fc.record({ path: fc.constantFrom(...pathsOf(valid).filter((p) => p.length > 0)), value: fc.oneof(anyText, anyJson) }).map(({ path, value }) => {
    const body = structuredClone(valid);
    let at: Record<string | number, unknown> = body;
    for (const step of path.slice(0, -1)) at = at[step] as Record<string | number, unknown>;
    at[path[path.length - 1]!] = value;
    return body;
  });
}

/** A valid body with one field (a known one, or any name) set to any JSON value, or left out. */
function mutated(valid: Record<string, unknown>, fields: readonly string[]) {
  return fc.record({ field: fc.oneof(fc.constantFrom(...fields), fc.string({ maxLength: 12 })), value: fc.option(anyJson, { nil: undefined }) }).map(({ field, value }) => {
    const body: Record<string, unknown> = { ...valid };
    if (value === undefined) delete body[field];
    else body[field] = value;
    return body;
  });
}

describe("bad input", () => {
  it("the OpenAI surface answers any body with a success or a 4xx OpenAI error, never a 5xx", async () => {
    const chat = { model: "default", messages: [{ role: "user", content: "hello" }] };
    const chatFields = ["model", "messages", "max_tokens", "max_completion_tokens", "temperature", "top_p", "stream", "stream_options", "tools", "tool_choice", "response_format", "metadata", "user", "n", "stop", "seed", "logprobs", "reasoning_effort"];
    const message = fc.record({ role: fc.oneof(fc.constantFrom("system", "developer", "user", "assistant", "tool"), fc.string()), content: anyJson, tool_calls: fc.option(anyJson, { nil: undefined }), tool_call_id: fc.option(anyJson, { nil: undefined }) }, { requiredKeys: ["role"] });
    const bodies = fc.oneof(
      mutated(chat, chatFields).map((b) => ["/v1/chat/completions", JSON.stringify(b)] as const),
      mutatedDeep(chat).map((b) => ["/v1/chat/completions", JSON.stringify(b)] as const),
      fc.record({ metadata: anyTags, user: fc.option(anyText, { nil: undefined }), content: anyText }).map(({ metadata, user, content }) => ["/v1/chat/completions", JSON.stringify({ model: "default", messages: [{ role: "user", content }], metadata, user })] as const),
      fc.array(message, { minLength: 1, maxLength: 3 }).map((messages) => ["/v1/chat/completions", JSON.stringify({ model: "default", messages })] as const),
      mutated({ model: "default", input: "hello" }, ["model", "input", "dimensions", "encoding_format", "user"]).map((b) => ["/v1/embeddings", JSON.stringify(b)] as const),
      anyJson.map((b) => ["/v1/chat/completions", JSON.stringify(b)] as const),
      fc.string({ maxLength: 40 }).map((text) => ["/v1/chat/completions", text] as const),
    );
    await fc.assert(
      fc.asyncProperty(bodies, async ([path, body]) => {
        const res = await post(path, body, { "content-type": "application/json" });
        const text = await res.text();
        expect(res.status, text).toBeLessThan(500);
        if (res.status >= 400) {
          const error = (JSON.parse(text) as { error?: { message?: unknown; type?: unknown } }).error;
          expect(typeof error?.message, text).toBe("string");
          expect(error!.message, text).not.toBe("");
        }
      }),
      { numRuns: 300 },
    );
    await gw.money.ledger.flush();
    await gw.requestLog!.flush();
    expect(await gw.money.usage.deadLetterCount()).toBe(0n);
    expect(gw.requestLog!.rejected()).toBe(0);
    expect(gw.requestLog!.pending()).toBe(0);
  });

  it("streams: any body to the OpenAI SSE surface and to ChatStream over Connect ends with a chosen error or a clean end, never internal", async () => {
    const sse = { model: "default", stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: "hello" }] };
    const stream = { options: { route: "default" }, messages: [{ role: "ROLE_USER", content: [{ text: "hello" }] }] };
    const answered = { sse: 0, connect: 0 };
    const cases = fc.oneof(
      mutatedDeep(sse).map((b) => ["sse", b] as const),
      mutatedDeep(stream).map((b) => ["connect", b] as const),
    );
    await fc.assert(
      fc.asyncProperty(cases, async ([wire, body]) => {
        if (wire === "sse") {
          const res = await post("/v1/chat/completions", JSON.stringify(body), { "content-type": "application/json" });
          const text = await res.text();
          expect(res.status, text).toBeLessThan(500);
          if (res.status !== 200) return;
          if (text.includes("data: [DONE]")) answered.sse++;
          // An error inside a stream is a data event carrying an OpenAI error object.
          for (const line of text.split("\n")) {
            if (!line.startsWith("data: ") || line === "data: [DONE]") continue;
            const event = JSON.parse(line.slice(6)) as { error?: { type?: string; message?: string } };
            if (event.error !== undefined) {
              expect(event.error.type, text).not.toBe("server_error");
              expect(event.error.message, text).toBeTruthy();
            }
          }
          return;
        }
        const envelope = encodeEnvelope(0, Buffer.from(JSON.stringify(body)));
        const res = await fetch(`${gw.url}/switchboard.v1.CapabilityService/ChatStream`, {
          method: "POST",
          headers: { ...gw.adminHeaders, "x-switchboard-cache": "bypass", "content-type": "application/connect+json", "connect-protocol-version": "1" },
          body: envelope,
        });
        const bytes = Buffer.from(await res.arrayBuffer());
        if (res.status !== 200) {
          const error = JSON.parse(bytes.toString()) as { code?: string };
          expect(["internal", "unknown", undefined]).not.toContain(error.code);
          return;
        }
        // The last envelope (flag 0x02) ends the stream, with the error if there was one.
        let end: { error?: { code?: string; message?: string } } | undefined;
        for (let at = 0; at + 5 <= bytes.length; ) {
          const length = bytes.readUInt32BE(at + 1);
          if ((bytes[at]! & 0x02) !== 0) end = JSON.parse(bytes.subarray(at + 5, at + 5 + length).toString()) as typeof end;
          at += 5 + length;
        }
        expect(end, bytes.toString()).toBeDefined();
        if (end!.error !== undefined) {
          expect(["internal", "unknown", undefined], JSON.stringify(end)).not.toContain(end!.error.code);
          expect(end!.error.message, JSON.stringify(end)).toBeTruthy();
        } else answered.connect++;
      }),
      { numRuns: 200 },
    );
    // Mutations that keep a request valid were streamed to their end on both wires.
    expect(answered.sse).toBeGreaterThan(0);
    expect(answered.connect).toBeGreaterThan(0);
  });

  it("Connect JSON to the verbs and the admin services answers with a chosen code, never internal or unknown", async () => {
    const procedures = [
      ["switchboard.v1.CapabilityService/Chat", { options: { route: "default" }, messages: [{ role: "ROLE_USER", content: [{ text: "hello" }] }] }],
      ["switchboard.v1.CapabilityService/Summarize", { options: { route: "default" }, text: "hello" }],
      ["switchboard.v1.CapabilityService/Embed", { options: { route: "embed" }, inputs: ["hello"] }],
      ["switchboard.v1.CapabilityService/Classify", { options: { route: "default" }, text: "hello", labels: [{ name: "greeting" }, { name: "other" }] }],
      ["switchboard.v1.CapabilityService/Extract", { options: { route: "default" }, text: "Ada, 36", jsonSchema: { type: "object", properties: { name: { type: "string" }, age: { type: "integer" } }, required: ["name"] } }],
      ["switchboard.v1.CapabilityService/Answer", { options: { route: "default" }, question: "Who?", sources: [{ id: "s1", text: "Ada wrote it." }] }],
      ["switchboard.v1.TenantService/CreateOrg", { orgId: "fuzz-org", org: { displayName: "Fuzz" } }],
      ["switchboard.v1.KeyService/CreateKey", { parent: "orgs/fuzz/teams/app", keyId: "k", key: { scopes: ["SCOPE_INVOKE"], tags: { app: "x" } } }],
      ["switchboard.v1.RouteService/CreateRoute", { routeId: "fuzz", route: { targets: [{ provider: "sandbox", model: "echo" }] } }],
      ["switchboard.v1.BudgetService/CreateBudget", { parent: "orgs/fuzz", budgetId: "b", budget: { target: "tags/app=x", limitMicrosUsd: "1000", period: "BUDGET_PERIOD_MONTHLY" } }],
      ["switchboard.v1.UsageService/QueryUsage", { parent: "orgs/fuzz", startTime: "2026-01-01T00:00:00Z", endTime: "2027-01-01T00:00:00Z", filter: { tags: { app: "x" } } }],
      ["switchboard.v1.PromptService/CreatePromptTemplate", { parent: "orgs/fuzz", promptId: "p", template: { verb: "VERB_SUMMARIZE" }, firstVersion: { messages: [{ role: "ROLE_USER", template: "Summarize: {{text}}" }] } }],
    ] as const;
    // Each valid body is answered: the mutations below start from requests the handlers accept.
    for (const [procedure, valid] of procedures) {
      const res = await post(`/${procedure}`, JSON.stringify(valid), { "content-type": "application/json", "connect-protocol-version": "1" });
      expect(res.status, `${procedure}: ${await res.text()}`).toBe(200);
    }
    const calls = fc.constantFrom(...procedures).chain(([procedure, valid]) =>
      fc.oneof(mutatedDeep(valid as Record<string, unknown>), mutated(valid as Record<string, unknown>, Object.keys(valid)), anyJson).map((body) => [procedure, JSON.stringify(body)] as const),
    );
    const codes = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(calls, async ([procedure, body]) => {
        const res = await post(`/${procedure}`, body, { "content-type": "application/json", "connect-protocol-version": "1" });
        const text = await res.text();
        if (res.status === 200) return;
        const error = JSON.parse(text) as { code?: string; message?: string };
        codes.set(error.code ?? "", (codes.get(error.code ?? "") ?? 0) + 1);
        expect(["internal", "unknown", undefined], `${procedure} ${body} → ${text}`).not.toContain(error.code);
        expect(error.message, text).toBeTruthy();
      }),
      { numRuns: 400 },
    );
    // The property reached the handlers, not only the codec: refusals of several kinds were seen.
    expect(codes.get("invalid_argument") ?? 0).toBeGreaterThan(0);
  });
});
