import { ScalarType, type DescField, type DescMessage } from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Serialization } from "@connectrpc/connect/protocol";

/*
 * How many values a binary request message makes when parsed, counted before it is parsed.
 *
 * protobuf-es keeps an object per message, a slot per list item and an entry per map pair, and the
 * wire spends as little as a byte or two on each: a `ChatRequest` of 4 MiB of empty `messages`
 * entries (2 bytes each) became 2M objects, ≈ 360 MB of heap and 2 s of CPU, before protovalidate's
 * `max_items` could refuse it — and the body is parsed before any interceptor, authentication
 * included. So a large body is first walked with the message's descriptor, reading nothing but
 * lengths and tags, and refused once it holds more than `MAX_REQUEST_VALUES`.
 *
 * The walk takes the parser's steps (`from-binary.js`: `readMessage`, `readField`, `readMapEntry`,
 * `readListField`) with the same `BinaryReader` calls, so it reads every byte as the parser will:
 * a field is read by its declared kind, whatever its wire type says, as the parser reads it. A body
 * the walk cannot read is left to the parser, which fails on it at the same byte or sooner, having
 * made no more values than were counted by then.
 */

/**
 * The most values (messages, list items, map pairs; the request itself included) a binary request
 * message may hold. At the ≈ 180 bytes of heap an empty `Message` costs, 100,000 bound a request's
 * parse to ≈ 18 MB and ≈ 0.1 s — P23's 64 MiB per request with room to spare — and are far above
 * what any one limit of the schema lets a request reach (2,048 `messages`, 128 `tools`, 256 parts
 * in a message: a conversation at those limits, each message with a text part, is ≈ 8,000).
 */
export const MAX_REQUEST_VALUES = 100_000;

/**
 * The largest request message read on connect-node's path (Connect over HTTP/2, gRPC-Web, client
 * and bidi streams). Its messages are counted too (server/http/connect-node-value-budget.ts), so
 * their values no longer need this cap; their bytes still do: that path joins a message's bytes up
 * to three times before it is parsed (the counting reader's join, the envelope it passes on,
 * connect's own join; a compressed one decompressed twice) where the direct paths join them once,
 * so `maxRequestBytes`' default 32 MiB would let one call hold ≈ 100 MB before any interceptor
 * ran — past P23's 64 MiB per request — where 4 MiB, gRPC's own default receive limit, holds ≈ 12.
 */
export const CONNECT_NODE_READ_MAX_BYTES = 4 * 1024 * 1024;

/** protobuf-es's default `recursionLimit`, which the walk keeps to as the parser does. */
const RECURSION_LIMIT = 100;

/** `BinaryReader`'s own way past a value it does not read: an unknown field, a 64-bit varint. */
const passOver = BinaryReader.prototype.skip;

/** Thrown through the walk once the count passes its limit. */
const OVER = Symbol("over the value budget");

/**
 * The values `bytes` makes when parsed as `desc`, counted until they pass `limit` (`limit + 1`
 * then). A body the parser would refuse is counted as far as it can be read.
 */
export function countValues(desc: DescMessage, bytes: Uint8Array, limit: number): number {
  const walk = new Walk(new BinaryReader(bytes), limit);
  try {
    walk.count();
    walk.message(desc, false, bytes.byteLength, 1);
  } catch {
    // Past the limit (OVER), or a body the parser refuses: counted as far as it was read.
  }
  return walk.counted;
}

/** connect's refusal of a message holding more than `limit` values, with its code for a message over `readMaxBytes`. */
export function tooManyValues(limit: number): ConnectError {
  return new ConnectError(`message is larger than the limit of ${limit} values (messages, list items and map entries)`, Code.ResourceExhausted);
}

/**
 * `serialization` (of binary messages of `desc`) refusing a message of more than `limit` values
 * before parsing it.
 */
export function withValueBudget<T>(desc: DescMessage, serialization: Serialization<T>, limit = MAX_REQUEST_VALUES): Serialization<T> {
  return refusing(serialization, limit, (data) => countValues(desc, data, limit));
}

/** `serialization` (of JSON messages) refusing a body of more than `limit` values before parsing it, as {@link withValueBudget}. */
export function withJsonValueBudget<T>(serialization: Serialization<T>, limit = MAX_REQUEST_VALUES): Serialization<T> {
  return refusing(serialization, limit, countJsonValues);
}

/** Whether a binary message of `desc` holds more than `limit` values (connect-node's path, as {@link withValueBudget}). */
export function overValueBudget(desc: DescMessage, bytes: Uint8Array, limit = MAX_REQUEST_VALUES): boolean {
  return over(bytes, limit, (data) => countValues(desc, data, limit));
}

/** Whether a JSON body holds more than `limit` values (the OpenAI surface's, as an RPC's JSON message). */
export function overJsonValueBudget(bytes: Uint8Array, limit = MAX_REQUEST_VALUES): boolean {
  return over(bytes, limit, countJsonValues);
}

/**
 * Whether `count` finds more than `limit` values in `data`. A body of at most `limit` bytes is not
 * counted: every value costs a byte at least, so it cannot hold more.
 */
function over(data: Uint8Array, limit: number, count: (data: Uint8Array, limit: number) => number): boolean {
  return data.byteLength > limit && count(data, limit) > limit;
}

/** `serialization` refusing a message {@link over} its budget before parsing it. */
function refusing<T>(serialization: Serialization<T>, limit: number, count: (data: Uint8Array, limit: number) => number): Serialization<T> {
  return {
    serialize: (data) => serialization.serialize(data),
    parse(data) {
      if (over(data, limit, count)) throw tooManyValues(limit);
      return serialization.parse(data);
    },
  };
}

/**
 * How many values JSON.parse makes of `bytes` at least (objects, arrays and their items), counted
 * up to just past `limit`: every `{`, `[` and `,` outside a string. The JSON format's twin of
 * {@link countValues} — `{},` is three bytes and an object (two with the message made of it).
 */
export function countJsonValues(bytes: Uint8Array, limit: number): number {
  let n = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (inString) {
      if (b === BACKSLASH) i++;
      else if (b === QUOTE) inString = false;
    } else if (b === QUOTE) inString = true;
    else if ((b === OPEN_BRACE || b === OPEN_BRACKET || b === COMMA) && ++n > limit) return n;
  }
  return n;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const COMMA = 0x2c;


/** Field numbers to fields, per message type. */
const fieldsByNumber = new WeakMap<DescMessage, Map<number, DescField>>();
function fieldOf(desc: DescMessage, no: number): DescField | undefined {
  let fields = fieldsByNumber.get(desc);
  if (fields === undefined) {
    fields = new Map(desc.fields.map((f) => [f.number, f]));
    fieldsByNumber.set(desc, fields);
  }
  return fields.get(no);
}

class Walk {
  counted = 0;
  constructor(
    private readonly reader: BinaryReader,
    private readonly limit: number,
  ) {}

  count(): void {
    if (++this.counted > this.limit) throw OVER;
  }

  /** `readMessage`: to `length` bytes on, or to the end-group tag of field `length` when `delimited`. */
  message(desc: DescMessage, delimited: boolean, length: number, depth: number): void {
    // The parser throws here: what it made by then is counted.
    if (depth > RECURSION_LIMIT) throw new Error("too deep");
    const r = this.reader;
    const end = delimited ? r.len : r.pos + length;
    while (r.pos < end) {
      const [no, wireType] = r.tag();
      if (delimited && wireType === WireType.EndGroup) return;
      const field = fieldOf(desc, no);
      if (field === undefined) passOver.call(r, wireType, no, RECURSION_LIMIT - depth);
      else this.field(field, wireType, depth);
    }
  }

  /** `readField`: by the field's kind. A singular message read again is merged, but counted again. */
  private field(field: DescField, wireType: WireType, depth: number): void {
    const r = this.reader;
    switch (field.fieldKind) {
      case "scalar":
        skipScalar(r, field.scalar);
        return;
      case "enum":
        r.uint32();
        return;
      case "message":
        this.count();
        this.subMessage(field.message, field.delimitedEncoding, field.number, depth);
        return;
      case "list":
        if (field.listKind === "message") {
          this.count();
          this.subMessage(field.message, field.delimitedEncoding, field.number, depth);
          return;
        }
        this.listItems(field.listKind === "scalar" ? field.scalar : ScalarType.INT32, wireType);
        return;
      case "map":
        this.mapEntry(field, depth);
        return;
    }
  }

  /** `readMessageField`. */
  private subMessage(desc: DescMessage, delimited: boolean, no: number, depth: number): void {
    this.message(desc, delimited, delimited ? no : this.reader.uint32(), depth + 1);
  }

  /** `readListField` for scalars and enums: one item, or a packed run of them. */
  private listItems(type: ScalarType, wireType: WireType): void {
    const r = this.reader;
    if (wireType !== WireType.LengthDelimited || type === ScalarType.STRING || type === ScalarType.BYTES) {
      this.count();
      skipScalar(r, type);
      return;
    }
    const end = r.uint32() + r.pos;
    while (r.pos < end) {
      this.count();
      skipScalar(r, type);
    }
  }

  /** `readMapEntry`: a pair, whose message value (one is made when the entry has none) counts too. */
  private mapEntry(field: DescField & { fieldKind: "map" }, depth: number): void {
    const r = this.reader;
    this.count();
    if (field.mapKind === "message") this.count();
    const end = r.uint32() + r.pos;
    while (r.pos < end) {
      // Only fields 1 and 2 are read; the parser reads any other's value as the next tag, as here.
      const [no] = r.tag();
      if (no === 1) skipScalar(r, field.mapKey);
      else if (no === 2) {
        if (field.mapKind === "scalar") skipScalar(r, field.scalar);
        else if (field.mapKind === "enum") r.int32();
        else {
          this.count();
          this.subMessage(field.message, field.delimitedEncoding, field.number, depth);
        }
      }
    }
  }
}

/** `readScalar`'s reads, without making the value (a string's bytes are not decoded, a 64-bit one not converted). */
function skipScalar(r: BinaryReader, type: ScalarType): void {
  switch (type) {
    case ScalarType.STRING:
    case ScalarType.BYTES:
      r.bytes();
      return;
    case ScalarType.BOOL:
    case ScalarType.INT64:
    case ScalarType.UINT64:
    case ScalarType.SINT64:
      // `varint64()`'s bytes (a varint of at most 10), with its byte view the only thing made.
      passOver.call(r, WireType.Varint);
      return;
    case ScalarType.DOUBLE:
      r.double();
      return;
    case ScalarType.FLOAT:
      r.float();
      return;
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      r.sfixed32();
      r.sfixed32();
      return;
    case ScalarType.FIXED32:
      r.fixed32();
      return;
    case ScalarType.SFIXED32:
      r.sfixed32();
      return;
    default:
      // INT32, UINT32, SINT32: a 32-bit varint.
      r.uint32();
  }
}
