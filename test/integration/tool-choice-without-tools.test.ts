/**
 * A `tool_choice` without `tools` means the same on every provider and through both front doors:
 * "auto" or "none" is no constraint and reaches no provider (OpenAI would refuse it, Anthropic and
 * Gemini ignore it); "required" or a named tool has nothing to call and is `invalid_argument` on
 * `tool_choice` before any provider is asked, as is a named tool that is not among the tools.
 * Each case runs against a route to each provider kind, whose fakes record every request.
 */
import { ViolationsSchema } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { Code, ConnectError } from "@connectrpc/connect";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Role, ToolChoiceMode, type ToolChoice } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { CacheMode } from "../../gen/ts/switchboard/v1/common_pb.js";
import type { FakeProvider } from "../fakes/fake-types.js";
import type { TestGateway } from "../support/gateway.js";
import { moneyClients, type MoneyClients } from "../support/money.js";
import { startProviderFakesGateway, type ProviderFakesGateway } from "../support/provider-fakes-gateway.js";

let rig: ProviderFakesGateway;
let gw: TestGateway;
let fakes: Record<"openai" | "anthropic" | "gemini", FakeProvider>;
let verbs: MoneyClients["verbs"];
let sdk: OpenAI;

const KINDS = ["openai", "anthropic", "gemini"] as const;
const MODELS = { openai: "gpt-4o-mini", anthropic: "claude-haiku-4-5", gemini: "gemini-2.0-flash" } as const;
const BYPASS = { "x-switchboard-cache": "bypass" };
const messages = [{ role: Role.USER, content: [{ part: { case: "text" as const, value: "hello" } }] }];
const weather = { name: "weather", parameters: { type: "object", properties: { city: { type: "string" } } } };

beforeAll(async () => {
  rig = await startProviderFakesGateway();
  ({ gw, fakes } = rig);
  const admin = moneyClients(gw.url, gw.adminKey);
  verbs = admin.verbs;
  for (const kind of KINDS) {
    await admin.routes.createRoute({ routeId: kind, route: { targets: [{ provider: kind, model: MODELS[kind], credential: `credentials/${kind}` }], retry: { maxAttempts: 1 } } });
  }
  await gw.models.resolver.refresh();
  sdk = new OpenAI({ apiKey: gw.adminKey, baseURL: `${gw.url}/v1`, maxRetries: 0 });
});
afterAll(async () => {
  await rig?.close();
});

const resetFakes = () => KINDS.forEach((k) => fakes[k].reset());
const sentTo = () => KINDS.flatMap((k) => fakes[k].requests());
const caught = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e);
/** The fields a Connect refusal names, from its `buf.validate.Violations` detail. */
const violatedFields = (err: ConnectError) => err.findDetails(ViolationsSchema).flatMap((v) => v.violations.map((x) => x.field?.elements.map((e) => e.fieldName).join(".")));

/** Refused: the Connect choice, the OpenAI one, and the tools sent with them. */
const REFUSED: { what: string; connect: ToolChoice["choice"]; openai: OpenAI.ChatCompletionToolChoiceOption; tools: boolean }[] = [
  { what: "required without tools", connect: { case: "mode", value: ToolChoiceMode.REQUIRED }, openai: "required", tools: false },
  { what: "a named tool without tools", connect: { case: "toolName", value: "weather" }, openai: { type: "function", function: { name: "weather" } }, tools: false },
  { what: "a named tool not among the tools", connect: { case: "toolName", value: "stocks" }, openai: { type: "function", function: { name: "stocks" } }, tools: true },
];

describe("tool_choice without tools", () => {
  for (const c of REFUSED) {
    it(`${c.what}: invalid_argument on tool_choice over Connect (Chat and ChatStream), no provider asked`, async () => {
      resetFakes();
      for (const route of KINDS) {
        const req = { options: { route, cache: { mode: CacheMode.BYPASS } }, messages, toolChoice: { choice: c.connect }, ...(c.tools ? { tools: [weather] } : {}) };
        const unary = ConnectError.from(await caught(verbs.chat(req)));
        const streamed = ConnectError.from(
          await caught(
            (async () => {
              for await (const _ of verbs.chatStream(req));
            })(),
          ),
        );
        for (const err of [unary, streamed]) {
          expect(err.code, `${route}: ${err.message}`).toBe(Code.InvalidArgument);
          expect(violatedFields(err)).toEqual(["tool_choice"]);
          expect(err.rawMessage).toMatch(/^tool_choice: /);
        }
      }
      expect(sentTo()).toEqual([]);
    });

    it(`${c.what}: 400 invalid_request_error with param tool_choice on the OpenAI surface, unary and streamed, no provider asked`, async () => {
      resetFakes();
      for (const model of KINDS) {
        const body = { model, messages: [{ role: "user" as const, content: "hello" }], tool_choice: c.openai, ...(c.tools ? { tools: [{ type: "function" as const, function: weather }] } : {}) };
        for (const err of [await caught(sdk.chat.completions.create(body, { headers: BYPASS })), await caught(sdk.chat.completions.create({ ...body, stream: true }, { headers: BYPASS }))]) {
          expect(err, model).toBeInstanceOf(OpenAI.BadRequestError);
          const bad = err as InstanceType<typeof OpenAI.BadRequestError>;
          expect(bad.param).toBe("tool_choice");
          expect(bad.type).toBe("invalid_request_error");
        }
      }
      expect(sentTo()).toEqual([]);
    });
  }

  it('"auto" and "none" without tools are no constraint: no provider is sent a tool choice, through either door', async () => {
    for (const route of KINDS) {
      for (const [mode, openaiChoice] of [
        [ToolChoiceMode.AUTO, "auto"],
        [ToolChoiceMode.NONE, "none"],
      ] as const) {
        resetFakes();
        const res = await verbs.chat({ options: { route, cache: { mode: CacheMode.BYPASS } }, messages, toolChoice: { choice: { case: "mode", value: mode } } });
        expect(res.message?.content.length).toBeGreaterThan(0);
        const completion = await sdk.chat.completions.create({ model: route, messages: [{ role: "user", content: "hello" }], tool_choice: openaiChoice }, { headers: BYPASS });
        expect(completion.choices[0]?.message.content).toBeTruthy();
        const bodies = fakes[route].requests().map((r) => r.body as Record<string, unknown>);
        expect(bodies).toHaveLength(2);
        for (const body of bodies) {
          expect(body).not.toHaveProperty("tool_choice");
          expect(body).not.toHaveProperty("toolConfig");
          expect(body).not.toHaveProperty("tools");
        }
      }
    }
  });

  it("a named tool among the tools still reaches the provider as the tool choice", async () => {
    resetFakes();
    const choice = { type: "function" as const, function: { name: "weather" } };
    await sdk.chat.completions.create({ model: "openai", messages: [{ role: "user", content: "hello" }], tools: [{ type: "function", function: weather }], tool_choice: choice }, { headers: BYPASS });
    expect((fakes.openai.requests()[0]?.body as Record<string, unknown>).tool_choice).toEqual(choice);
  });
});
