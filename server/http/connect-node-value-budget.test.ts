import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { compressionGzip } from "@connectrpc/connect-node";
import { contentTypeMatcher, createAsyncIterable, encodeEnvelope, pipe, transformSplitEnvelope, type UniversalHandler, type UniversalServerRequest } from "@connectrpc/connect/protocol";
import { describe, expect, it } from "vitest";
import { CapabilityService, ChatStreamRequestSchema } from "../../gen/ts/switchboard/v1/capability_service_pb.js";
import { wrapHandler } from "./connect-node-handlers.js";
import { requestValueBudget } from "./connect-node-value-budget.js";
import { MAX_REQUEST_VALUES, tooManyValues } from "./value-budget.js";

/*
 * The counting reader connect-node's handlers get their request bodies through, against a stand-in
 * handler that reads the body as connect would (server/http/message-value-flood.test.ts has the
 * flood end to end over each protocol).
 */

const OPTS = { readMaxBytes: 4 * 1024 * 1024 };
const method = CapabilityService.method.chatStream;
/** A stand-in for connect's handler: `read` gets the body's chunks as they come. */
function standIn(read: (body: AsyncIterable<Uint8Array>) => Promise<void>, allowedMethods = ["POST"]): UniversalHandler {
  const handle = async (req: UniversalServerRequest) => {
    await read(req.body as AsyncIterable<Uint8Array>);
    return { status: 200 };
  };
  return Object.assign(handle, { protocolNames: ["grpc"], service: method.parent, method, requestPath: `/${method.parent.typeName}/${method.name}`, allowedMethods, supportedContentType: contentTypeMatcher(/^application\/grpc$/) });
}
/** Every chunk of `body`, in order. */
async function chunksOf<T>(body: AsyncIterable<T>, got: T[] = []): Promise<T[]> {
  for await (const chunk of body) got.push(chunk);
  return got;
}
function request(body: AsyncIterable<Uint8Array>): UniversalServerRequest {
  return { httpVersion: "2.0", url: "http://gw/", method: "POST", header: new Headers({ "content-type": "application/grpc" }), body, signal: new AbortController().signal };
}
/** `n` empty `messages` entries (field 2): a message of `n + 1` values. */
const emptyEntries = (n: number) => Buffer.alloc(2 * n).map((_, i) => (i % 2 === 0 ? (2 << 3) | 2 : 0));
const small = toBinary(ChatStreamRequestSchema, create(ChatStreamRequestSchema, { messages: [{ content: [{ part: { case: "text", value: "hi" } }] }] }));

describe("connect-node's handlers given their request bodies through the value budget", () => {
  it("pass a stream's envelopes on unchanged, each as it completes", async () => {
    let firstSeen!: () => void;
    const seen = new Promise<void>((resolve) => (firstSeen = resolve));
    const got: Uint8Array[] = [];
    const handler = wrapHandler(
      standIn(async (body) => {
        for await (const chunk of body) {
          got.push(chunk);
          firstSeen();
        }
      }),
      requestValueBudget(OPTS),
    );
    // The second message is sent only once the handler has the first (a bidi stream's turn).
    async function* caller() {
      yield encodeEnvelope(0, small);
      await seen;
      yield encodeEnvelope(0, emptyEntries(MAX_REQUEST_VALUES - 1));
    }
    await handler(request(caller()));
    const sent = Buffer.concat([encodeEnvelope(0, small), encodeEnvelope(0, emptyEntries(MAX_REQUEST_VALUES - 1))]);
    expect(got).toHaveLength(2);
    expect(Buffer.concat(got).equals(sent)).toBe(true);
  });

  it("refuse a stream's message past the budget where connect would parse it, after those before it", async () => {
    const got: Uint8Array[] = [];
    const handler = wrapHandler(standIn(async (body) => void (await chunksOf(body, got))), requestValueBudget(OPTS));
    const body = createAsyncIterable([encodeEnvelope(0, small), encodeEnvelope(0, emptyEntries(MAX_REQUEST_VALUES))]);
    const err = await handler(request(body)).catch((e: unknown) => e);
    expect(err).toEqual(tooManyValues(MAX_REQUEST_VALUES));
    expect((err as ConnectError).code).toBe(Code.ResourceExhausted);
    expect(got).toEqual([encodeEnvelope(0, small)]);
  });

  it("count a compressed envelope decompressed", async () => {
    const handler = wrapHandler(standIn(async (body) => void (await chunksOf(body))), requestValueBudget(OPTS));
    const compressed = await compressionGzip.compress(emptyEntries(MAX_REQUEST_VALUES));
    const req = request(createAsyncIterable([encodeEnvelope(1, compressed)]));
    req.header.set("grpc-encoding", "gzip");
    await expect(handler(req)).rejects.toEqual(tooManyValues(MAX_REQUEST_VALUES));
  });

  it("raise connect's own error on a body it cannot split", async () => {
    const truncated = encodeEnvelope(0, small).subarray(0, 8);
    const connects = await chunksOf(pipe(createAsyncIterable([truncated]), transformSplitEnvelope(OPTS.readMaxBytes))).catch((e: unknown) => e);
    const handler = wrapHandler(standIn(async (body) => void (await chunksOf(body))), requestValueBudget(OPTS));
    const ours = await handler(request(createAsyncIterable([truncated]))).catch((e: unknown) => e);
    expect(ours).toBeInstanceOf(ConnectError);
    expect(ours).toEqual(connects);
  });

  it("refuse a method served over GET, whose message would come from the URL uncounted", () => {
    expect(() => wrapHandler(standIn(async () => {}, ["POST", "GET"]), requestValueBudget(OPTS))).toThrow(/GET/);
  });
});
