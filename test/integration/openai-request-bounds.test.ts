/**
 * What one request may carry is the same on both front doors: a Chat (Connect, JSON codec) and a
 * `POST /v1/chat/completions` with the same content are both accepted at each bound of
 * `chat.proto`/`capability_service.proto` and both refused one past it — `invalid_argument` with
 * a `buf.validate.Violations` detail on Connect, 400 naming the field (`param`) on the OpenAI
 * surface — and likewise Embed and `POST /v1/embeddings`. Against the sandbox routes, so every
 * accepted call is answered.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../support/gateway.js";

let gw: TestGateway;

beforeAll(async () => {
  // Production's body limit (32 MiB), so a body may hold more than one field may.
  gw = await startTestGateway({ maxRequestBytes: 32 * 1024 * 1024 });
});
afterAll(async () => {
  await gw?.close();
});

const post = (path: string, body: unknown) =>
  fetch(`${gw.url}${path}`, { method: "POST", headers: { ...gw.adminHeaders, "content-type": "application/json", "x-switchboard-cache": "bypass" }, body: JSON.stringify(body) });

/** A Chat over Connect's JSON codec: "ok" or the code, with the first violation's field path. */
async function overConnect(body: Record<string, unknown>, verb = "Chat"): Promise<string> {
  const res = await post(`/switchboard.v1.CapabilityService/${verb}`, { options: { route: verb === "Embed" ? "embed" : "fast" }, ...body });
  const answer = (await res.json()) as { code?: string };
  return res.status === 200 ? "ok" : `${answer.code}`;
}

/** The same call on the OpenAI surface: "ok" or `status param`. */
async function overOpenAI(body: Record<string, unknown>, path = "/v1/chat/completions"): Promise<string> {
  const res = await post(path, { model: path.endsWith("embeddings") ? "embed" : "fast", ...body });
  const answer = (await res.json()) as { error?: { param: string | null } };
  return res.status === 200 ? "ok" : `${res.status} ${answer.error?.param}`;
}

const text = (t: string) => ({ text: t });
const connectUser = (...content: unknown[]) => ({ role: "ROLE_USER", content });
const many = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));

describe("one request's bounds, on both front doors", () => {
  it("messages: 2048 accepted, 2049 refused naming `messages`", async () => {
    expect(await overConnect({ messages: many(2048, () => connectUser(text("hi"))) })).toBe("ok");
    expect(await overOpenAI({ messages: many(2048, () => ({ role: "user", content: "hi" })) })).toBe("ok");
    expect(await overConnect({ messages: many(2049, () => connectUser(text("hi"))) })).toBe("invalid_argument");
    expect(await overOpenAI({ messages: many(2049, () => ({ role: "user", content: "hi" })) })).toBe("400 messages");
  });

  it("content parts: 256 a message accepted, 257 refused naming the message's content", async () => {
    expect(await overConnect({ messages: [connectUser(...many(256, () => text("a")))] })).toBe("ok");
    expect(await overOpenAI({ messages: [{ role: "user", content: many(256, () => ({ type: "text", text: "a" })) }] })).toBe("ok");
    expect(await overConnect({ messages: [connectUser(...many(257, () => text("a")))] })).toBe("invalid_argument");
    expect(await overOpenAI({ messages: [{ role: "user", content: many(257, () => ({ type: "text", text: "a" })) }] })).toBe("400 messages[0].content");
  });

  it("a text part: 4 MiB of UTF-8 accepted, one byte more refused naming it", async () => {
    const atLimit = "é".repeat(2 * 1024 * 1024);
    expect(await overConnect({ messages: [connectUser(text(atLimit))] })).toBe("ok");
    expect(await overOpenAI({ messages: [{ role: "user", content: atLimit }] })).toBe("ok");
    expect(await overConnect({ messages: [connectUser(text(`${atLimit}a`))] })).toBe("invalid_argument");
    expect(await overOpenAI({ messages: [{ role: "user", content: `${atLimit}a` }] })).toBe("400 messages[0].content");
    expect(await overOpenAI({ messages: [{ role: "user", content: [{ type: "text", text: `${atLimit}a` }] }] })).toBe("400 messages[0].content[0].text");
  });

  it("tools: 128 accepted, 129 refused; a tool's name and description as the Tool message bounds them", async () => {
    const connectTool = (name: string, description = "") => ({ name, description, parameters: { type: "object" } });
    const openAITool = (name: string, description = "") => ({ type: "function", function: { name, description, parameters: { type: "object" } } });
    const msg = { connect: [connectUser(text("hi"))], openai: [{ role: "user", content: "hi" }] };
    expect(await overConnect({ messages: msg.connect, tools: many(128, (i) => connectTool(`t${i}`)) })).toBe("ok");
    expect(await overOpenAI({ messages: msg.openai, tools: many(128, (i) => openAITool(`t${i}`)) })).toBe("ok");
    expect(await overConnect({ messages: msg.connect, tools: many(129, (i) => connectTool(`t${i}`)) })).toBe("invalid_argument");
    expect(await overOpenAI({ messages: msg.openai, tools: many(129, (i) => openAITool(`t${i}`)) })).toBe("400 tools");

    expect(await overConnect({ messages: msg.connect, tools: [connectTool("n".repeat(64), "d".repeat(4096))] })).toBe("ok");
    expect(await overOpenAI({ messages: msg.openai, tools: [openAITool("n".repeat(64), "d".repeat(4096))] })).toBe("ok");
    expect(await overConnect({ messages: msg.connect, tools: [connectTool("n".repeat(65))] })).toBe("invalid_argument");
    expect(await overOpenAI({ messages: msg.openai, tools: [openAITool("n".repeat(65))] })).toBe("400 tools[0].function.name");
    expect(await overConnect({ messages: msg.connect, tools: [connectTool("no spaces")] })).toBe("invalid_argument");
    expect(await overOpenAI({ messages: msg.openai, tools: [openAITool("no spaces")] })).toBe("400 tools[0].function.name");
    expect(await overConnect({ messages: msg.connect, tools: [connectTool("f", "d".repeat(4097))] })).toBe("invalid_argument");
    expect(await overOpenAI({ messages: msg.openai, tools: [openAITool("f", "d".repeat(4097))] })).toBe("400 tools[0].function.description");
  });

  it("an assistant's tool calls: 128 accepted, 129 refused; ids, names and arguments bounded", async () => {
    const connectTurn = (calls: Array<{ id: string; name: string; argumentsJson: string }>) => [
      connectUser(text("hi")),
      { role: "ROLE_ASSISTANT", toolCalls: calls },
      ...calls.map((c) => ({ role: "ROLE_TOOL", toolCallId: c.id, content: [text("42")] })),
    ];
    const openAITurn = (calls: Array<{ id: string; name: string; argumentsJson: string }>) => [
      { role: "user", content: "hi" },
      { role: "assistant", content: null, tool_calls: calls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: c.argumentsJson } })) },
      ...calls.map((c) => ({ role: "tool", tool_call_id: c.id, content: "42" })),
    ];
    const call = (i: number, over: Partial<{ id: string; name: string; argumentsJson: string }> = {}) => ({ id: `c${i}`, name: "f", argumentsJson: "{}", ...over });
    expect(await overConnect({ messages: connectTurn(many(128, (i) => call(i))) })).toBe("ok");
    expect(await overOpenAI({ messages: openAITurn(many(128, (i) => call(i))) })).toBe("ok");
    expect(await overConnect({ messages: connectTurn(many(129, (i) => call(i))) })).toBe("invalid_argument");
    expect(await overOpenAI({ messages: openAITurn(many(129, (i) => call(i))) })).toBe("400 messages[1].tool_calls");

    const longArgs = `{"a":"${"x".repeat(1024 * 1024 - 8)}"}`;
    expect(longArgs.length).toBe(1024 * 1024);
    const atLimit = call(0, { id: "i".repeat(256), name: "n".repeat(64), argumentsJson: longArgs });
    expect(await overConnect({ messages: connectTurn([atLimit]) })).toBe("ok");
    expect(await overOpenAI({ messages: openAITurn([atLimit]) })).toBe("ok");
    for (const [over, param] of [
      [{ id: "i".repeat(257) }, "messages[1].tool_calls[0].id"],
      [{ name: "n".repeat(65) }, "messages[1].tool_calls[0].function.name"],
      [{ argumentsJson: `${longArgs} ` }, "messages[1].tool_calls[0].function.arguments"],
    ] as const) {
      expect(await overConnect({ messages: connectTurn([call(0, over)]) })).toBe("invalid_argument");
      expect(await overOpenAI({ messages: openAITurn([call(0, over)]) })).toBe(`400 ${param}`);
    }
  });

  it("a message's name (64) and a tool message's tool_call_id (256)", async () => {
    expect(await overConnect({ messages: [{ ...connectUser(text("hi")), name: "n".repeat(64) }] })).toBe("ok");
    expect(await overOpenAI({ messages: [{ role: "user", content: "hi", name: "n".repeat(64) }] })).toBe("ok");
    expect(await overConnect({ messages: [{ ...connectUser(text("hi")), name: "n".repeat(65) }] })).toBe("invalid_argument");
    expect(await overOpenAI({ messages: [{ role: "user", content: "hi", name: "n".repeat(65) }] })).toBe("400 messages[0].name");
    const toolTurn = (id: string) => [
      { role: "user", content: "hi" },
      { role: "assistant", content: null, tool_calls: [{ id, type: "function", function: { name: "f", arguments: "{}" } }] },
      { role: "tool", tool_call_id: id, content: "42" },
    ];
    expect(await overOpenAI({ messages: toolTurn("i".repeat(256)) })).toBe("ok");
    expect(await overOpenAI({ messages: [{ role: "user", content: "hi" }, { role: "tool", tool_call_id: "i".repeat(257), content: "42" }] })).toBe("400 messages[1].tool_call_id");
    expect(await overConnect({ messages: [connectUser(text("hi")), { role: "ROLE_TOOL", toolCallId: "i".repeat(257), content: [text("42")] }] })).toBe("invalid_argument");
  });

  it("stop sequences: empty and over 256 characters refused on both", async () => {
    const messages = { connect: [connectUser(text("hi"))], openai: [{ role: "user", content: "hi" }] };
    expect(await overConnect({ messages: messages.connect, stop: ["s".repeat(256)] })).toBe("ok");
    expect(await overOpenAI({ messages: messages.openai, stop: ["s".repeat(256)] })).toBe("ok");
    expect(await overConnect({ messages: messages.connect, stop: ["s".repeat(257)] })).toBe("invalid_argument");
    expect(await overOpenAI({ messages: messages.openai, stop: ["s".repeat(257)] })).toBe("400 stop");
    expect(await overOpenAI({ messages: messages.openai, stop: "s".repeat(257) })).toBe("400 stop");
    expect(await overConnect({ messages: messages.connect, stop: [""] })).toBe("invalid_argument");
    expect(await overOpenAI({ messages: messages.openai, stop: ["a", ""] })).toBe("400 stop");
  });

  it("an image URL: https or data:image/, at most 8 MiB characters", async () => {
    const image = (url: string) => ({ role: "user", content: [{ type: "text", text: "look" }, { type: "image_url", image_url: { url } }] });
    const connectImage = (url: string) => connectUser(text("look"), { image: { url } });
    const big = `data:image/png;base64,${"A".repeat(8 * 1024 * 1024 - 22)}`;
    for (const url of ["http://example.com/a.png", "file:///etc/passwd", `${big}A`]) {
      expect(await overConnect({ messages: [connectImage(url)] })).toBe("invalid_argument");
      expect(await overOpenAI({ messages: [image(url)] })).toBe("400 messages[0].content[1].image_url.url");
    }
  });

  it("response_format's schema name: at most 64 of [a-zA-Z0-9_-]", async () => {
    const format = (name: string) => ({ type: "json_schema", json_schema: { name, schema: { type: "object" } } });
    expect(await overConnect({ messages: [connectUser(text("hi"))], responseFormat: { type: "RESPONSE_FORMAT_TYPE_JSON_SCHEMA", schemaName: "s".repeat(65), jsonSchema: {} } })).toBe("invalid_argument");
    expect(await overOpenAI({ messages: [{ role: "user", content: "hi" }], response_format: format("s".repeat(65)) })).toBe("400 response_format.json_schema.name");
    expect(await overOpenAI({ messages: [{ role: "user", content: "hi" }], response_format: format("a b") })).toBe("400 response_format.json_schema.name");
  });

  it("a tag value and the end user: 256 characters, counted as code points on both doors", async () => {
    const emoji = "😀".repeat(256);
    const messages = { connect: [connectUser(text("hi"))], openai: [{ role: "user", content: "hi" }] };
    expect(await overConnect({ options: { route: "fast", tags: { feature: emoji }, endUser: emoji }, messages: messages.connect })).toBe("ok");
    expect(await overOpenAI({ messages: messages.openai, metadata: { feature: emoji } })).toBe("ok");
    expect(await overOpenAI({ messages: messages.openai, user: emoji })).toBe("ok");
    expect(await overConnect({ options: { route: "fast", tags: { feature: `${emoji}a` } }, messages: messages.connect })).toBe("invalid_argument");
    expect(await overOpenAI({ messages: messages.openai, metadata: { feature: `${emoji}a` } })).toBe("400 metadata");
    expect(await overOpenAI({ messages: messages.openai, user: `${emoji}a` })).toBe("400 user");
  });

  it("embeddings: an input of 256 KiB of UTF-8 accepted, one byte more refused naming it", async () => {
    const atLimit = "é".repeat(128 * 1024);
    expect(await overConnect({ inputs: ["a", atLimit] }, "Embed")).toBe("ok");
    expect(await overOpenAI({ input: ["a", atLimit] }, "/v1/embeddings")).toBe("ok");
    expect(await overConnect({ inputs: ["a", `${atLimit}a`] }, "Embed")).toBe("invalid_argument");
    expect(await overOpenAI({ input: ["a", `${atLimit}a`] }, "/v1/embeddings")).toBe("400 input[1]");
  });
});
