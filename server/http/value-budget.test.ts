import { create, fromBinary, toBinary, type DescMessage, type JsonObject, type MessageShape } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import type { Serialization } from "@connectrpc/connect/protocol";
import { Code, ConnectError } from "@connectrpc/connect";
import { createValidator } from "@bufbuild/protovalidate";
import { describe, expect, it } from "vitest";
import { ChatRequestSchema, EmbedRequestSchema } from "../../gen/ts/switchboard/v1/capability_service_pb.js";
import { BudgetSchema } from "../../gen/ts/switchboard/v1/budget_service_pb.js";
import { MessageSchema, Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { countJsonValues, countValues, MAX_REQUEST_VALUES, withValueBudget } from "./value-budget.js";

/*
 * The count of the values a binary request makes when parsed, walked before parsing it
 * (server/http/message-value-flood.test.ts has the flood end to end).
 */

const LIMIT = MAX_REQUEST_VALUES;
/** protobuf-es's binary format for `desc`, as connect's serialization calls it. */
const binary = <D extends DescMessage>(desc: D): Serialization<MessageShape<D>> => ({ parse: (data) => fromBinary(desc, data), serialize: (m) => toBinary(desc, m) });
/** `n` copies of `unit`. */
function repeated(unit: number[], n: number): Buffer {
  const out = Buffer.alloc(unit.length * n);
  for (let i = 0; i < out.length; i += unit.length) out.set(unit, i);
  return out;
}
/** A length-delimited field `no` holding `payload`. */
const delimited = (no: number, payload: Uint8Array) => Buffer.concat([Buffer.from([(no << 3) | 2, ...varint(payload.byteLength)]), payload]);
function varint(n: number): number[] {
  const out: number[] = [];
  for (; n > 0x7f; n >>>= 7) out.push((n & 0x7f) | 0x80);
  out.push(n);
  return out;
}

describe("countValues", () => {
  it("lets through a conversation at the schema's limits: 2,048 messages, 128 tools with schemas, 8 stops", () => {
    const schema: JsonObject = { type: "object", properties: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`p${i}`, { type: "string", enum: ["a", "b"] }])) };
    const request = create(ChatRequestSchema, {
      messages: Array.from({ length: 2048 }, (_, i) => ({
        role: i % 2 === 0 ? Role.USER : Role.ASSISTANT,
        content: [{ part: { case: "text" as const, value: `turn ${i}` } }],
        toolCalls: i % 2 === 0 ? [] : [{ id: `call_${i}`, name: "lookup", argumentsJson: "{}" }],
      })),
      tools: Array.from({ length: 128 }, (_, i) => ({ name: `tool_${i}`, parameters: schema })),
      stop: Array.from({ length: 8 }, (_, i) => `stop ${i}`),
    });
    expect(createValidator().validate(ChatRequestSchema, request).kind).toBe("valid");
    const bytes = toBinary(ChatRequestSchema, request);
    const counted = countValues(ChatRequestSchema, bytes, LIMIT);
    expect(counted).toBeGreaterThan(2048 * 2 + 128);
    expect(counted).toBeLessThanOrEqual(LIMIT / 2);
    expect(withValueBudget(ChatRequestSchema, binary(ChatRequestSchema)).parse(bytes)).toEqual(request);
  });

  it("lets through an embedding batch at the schema's limit (2,048 inputs)", () => {
    const bytes = toBinary(EmbedRequestSchema, create(EmbedRequestSchema, { inputs: Array.from({ length: 2048 }, (_, i) => `text ${i}`) }));
    expect(countValues(EmbedRequestSchema, bytes, LIMIT)).toBe(1 + 2048);
  });

  it("counts what the parser makes, one by one, and stops once past the limit", () => {
    const bytes = repeated([(2 << 3) | 2, 0], 1000); // 1,000 empty `messages`
    expect(countValues(ChatRequestSchema, bytes, LIMIT)).toBe(1 + 1000);
    expect(countValues(ChatRequestSchema, repeated([(2 << 3) | 2, 0], 2_000_000), LIMIT)).toBe(LIMIT + 1);
  });

  it("counts a flood nested in a sub-message: parts of one message, pairs of a tool's Struct", () => {
    const parts = delimited(2, repeated([(2 << 3) | 2, 0], 200_000)); // one Message of 200,000 empty `content` parts
    expect(countValues(ChatRequestSchema, parts, LIMIT)).toBe(LIMIT + 1);
    // tools[0].parameters (a Struct): 60,000 `fields` pairs, each an entry and its Value.
    const struct = repeated([(1 << 3) | 2, 0], 60_000);
    const tool = delimited(3, Buffer.concat([delimited(1, Buffer.from("f")), delimited(3, struct)]));
    expect(countValues(ChatRequestSchema, tool, LIMIT)).toBe(LIMIT + 1);
  });

  it("counts packed list items, and a sub-message sent with another wire type, as the parser reads them", () => {
    const packed = delimited(6, repeated([50], 5000)); // alert_thresholds_percent: 5,000 items in one field
    expect(fromBinary(BudgetSchema, packed).alertThresholdsPercent).toHaveLength(5000);
    expect(countValues(BudgetSchema, packed, LIMIT)).toBe(1 + 5000);
    // A `messages` entry with the varint wire type is still read as a message, its value as the length.
    const varintTagged = repeated([(2 << 3) | 0, 0], 1000);
    expect(fromBinary(ChatRequestSchema, varintTagged).messages).toHaveLength(1000);
    expect(countValues(ChatRequestSchema, varintTagged, LIMIT)).toBe(1 + 1000);
  });

  it("leaves a body the parser refuses to the parser", () => {
    const truncated = Buffer.from([(2 << 3) | 2, 10, 0]);
    expect(() => countValues(ChatRequestSchema, truncated, LIMIT)).not.toThrow();
    const guarded = withValueBudget(MessageSchema, binary(MessageSchema), 2);
    expect(() => guarded.parse(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))).toThrow(/premature EOF/);
  });
});

describe("withValueBudget", () => {
  const serialization = binary(ValueSchema);
  it("refuses a message over the limit with resource_exhausted, without parsing it", () => {
    const guarded = withValueBudget(ValueSchema, { ...serialization, parse: () => expect.unreachable("parsed") }, 100);
    // struct_value (field 5) of 200 empty pairs
    const bytes = delimited(5, repeated([(1 << 3) | 2, 0], 200));
    const err = (() => {
      try {
        guarded.parse(bytes);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.ResourceExhausted);
  });

  it("does not walk a body too small to pass the limit", () => {
    const bytes = delimited(5, repeated([(1 << 3) | 2, 0], 40)); // 82 bytes, 81 values
    expect(withValueBudget(ValueSchema, serialization, 100).parse(bytes).kind.case).toBe("structValue");
  });
});

describe("countJsonValues", () => {
  const count = (text: string, limit = 1_000) => countJsonValues(new TextEncoder().encode(text), limit);

  it("counts objects, arrays and their items, never what is inside a string", () => {
    expect(count(`{"messages":[{},{},{}]}`)).toBe(1 + 1 + 3 + 2);
    expect(count(`{"text":"a, b [c] {d}","n":[1,2]}`)).toBe(1 + 1 + 1 + 1);
    // An escaped quote does not end the string; an escaped backslash before a quote does.
    expect(count(`{"text":"say \\"{,[\\" now","x":"\\\\"}`)).toBe(1 + 1);
    expect(count(`{"x":"\\\\",`.concat(`"y":[{}]}`))).toBe(1 + 1 + 1 + 1);
  });

  it("stops just past the limit", () => {
    expect(count(`[${"{},".repeat(50)}{}]`, 10)).toBe(11);
  });
});
