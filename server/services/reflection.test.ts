import { execFile } from "node:child_process";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { create, createFileRegistry, fromBinary, type DescFile, type MessageInitShape } from "@bufbuild/protobuf";
import {
  FieldDescriptorProto_Label as Label,
  FieldDescriptorProto_Type as Type,
  FileDescriptorProtoSchema,
  file_google_protobuf_descriptor,
} from "@bufbuild/protobuf/wkt";
import { createClient, createRouterTransport, type ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health, file_grpc_health_v1_health } from "../../gen/ts/grpc/health/v1/health_pb.js";
import {
  ServerReflection,
  file_grpc_reflection_v1_reflection,
  type ServerReflectionRequestSchema,
  type ServerReflectionResponse,
} from "../../gen/ts/grpc/reflection/v1/reflection_pb.js";
import { createHealthService, createHealthStatus } from "./health.js";
import { createReflectionService } from "./reflection.js";

type Request = MessageInitShape<typeof ServerReflectionRequestSchema>;

const served = [file_grpc_health_v1_health, file_grpc_reflection_v1_reflection];

/** A proto2 file with nested types, extensions and imports, built by hand. */
function fixtureFile(): DescFile {
  const optional = { label: Label.OPTIONAL };
  const proto = create(FileDescriptorProtoSchema, {
    name: "fixture/v1/fixture.proto",
    package: "fixture.v1",
    syntax: "proto2",
    dependency: ["google/protobuf/descriptor.proto", "grpc/health/v1/health.proto"],
    messageType: [
      {
        name: "Outer",
        field: [{ name: "id", number: 1, type: Type.INT32, ...optional }],
        extensionRange: [{ start: 100, end: 200 }],
        nestedType: [{ name: "Inner", enumType: [{ name: "Color", value: [{ name: "RED", number: 0 }] }] }],
        extension: [
          { name: "nested_ext", number: 101, type: Type.INT32, extendee: ".fixture.v1.Outer", ...optional },
        ],
      },
    ],
    extension: [
      { name: "top_ext", number: 100, type: Type.STRING, extendee: ".fixture.v1.Outer", ...optional },
      { name: "sensitive", number: 50001, type: Type.BOOL, extendee: ".google.protobuf.FieldOptions", ...optional },
    ],
    service: [
      {
        name: "FixtureService",
        method: [
          {
            name: "Ping",
            inputType: ".grpc.health.v1.HealthCheckRequest",
            outputType: ".grpc.health.v1.HealthCheckResponse",
          },
        ],
      },
    ],
  });
  const imports = [file_google_protobuf_descriptor, file_grpc_health_v1_health];
  const registry = createFileRegistry(proto, (name) => imports.find((f) => f.proto.name === name));
  const file = registry.getFile(proto.name);
  if (!file) throw new Error("fixture did not build");
  return file;
}

async function* fromArray<T>(items: T[]): AsyncIterable<T> {
  yield* items;
}

/** Sends all requests on one stream and collects the responses. */
async function ask(files: DescFile[], requests: Request[]): Promise<ServerReflectionResponse[]> {
  const transport = createRouterTransport((router) => {
    router.service(ServerReflection, createReflectionService(files));
  });
  const client = createClient(ServerReflection, transport);
  const responses: ServerReflectionResponse[] = [];
  for await (const response of client.serverReflectionInfo(fromArray(requests))) responses.push(response);
  return responses;
}

/** The names of the files in a file answer, in order. */
function fileNames(response: ServerReflectionResponse | undefined): string[] {
  expect(response?.messageResponse.case).toBe("fileDescriptorResponse");
  if (response?.messageResponse.case !== "fileDescriptorResponse") return [];
  return response.messageResponse.value.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b).name);
}

function errorOf(response: ServerReflectionResponse | undefined) {
  expect(response?.messageResponse.case).toBe("errorResponse");
  return response?.messageResponse.case === "errorResponse" ? response.messageResponse.value : undefined;
}

describe("createReflectionService", () => {
  it("lists the services of the served files, not of their imports", async () => {
    const [all, fixtureOnly] = await Promise.all([
      ask(served, [{ messageRequest: { case: "listServices", value: "*" } }]),
      ask([fixtureFile()], [{ messageRequest: { case: "listServices", value: "" } }]),
    ]);
    const names = (r: ServerReflectionResponse | undefined) =>
      r?.messageResponse.case === "listServicesResponse" ? r.messageResponse.value.service.map((s) => s.name) : [];
    expect(names(all[0])).toEqual(["grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"]);
    expect(names(fixtureOnly[0])).toEqual(["fixture.v1.FixtureService"]);
  });

  it("echoes host and original request, and answers every request of one stream in order", async () => {
    const requests: Request[] = [
      { host: "gw", messageRequest: { case: "fileByFilename", value: "grpc/health/v1/health.proto" } },
      { messageRequest: { case: "fileByFilename", value: "nope.proto" } },
      { messageRequest: { case: "fileContainingSymbol", value: "grpc.reflection.v1.ServerReflection" } },
    ];
    const [byName, missing, bySymbol] = await ask(served, requests);
    expect(byName?.validHost).toBe("gw");
    expect(byName?.originalRequest?.messageRequest).toEqual(requests[0]?.messageRequest);
    expect(fileNames(byName)).toEqual(["grpc/health/v1/health.proto"]);
    expect(errorOf(missing)).toMatchObject({ errorCode: 5, errorMessage: expect.stringContaining("nope.proto") });
    expect(fileNames(bySymbol)).toEqual(["grpc/reflection/v1/reflection.proto"]);
  });

  it.each([
    ["a service", "grpc.health.v1.Health", "grpc/health/v1/health.proto"],
    ["a method", "grpc.health.v1.Health.Watch", "grpc/health/v1/health.proto"],
    ["a message", "grpc.reflection.v1.ErrorResponse", "grpc/reflection/v1/reflection.proto"],
    ["a nested enum", "grpc.health.v1.HealthCheckResponse.ServingStatus", "grpc/health/v1/health.proto"],
    ["an enum value (sibling scope)", "grpc.health.v1.HealthCheckResponse.SERVING", "grpc/health/v1/health.proto"],
    ["a field", "grpc.health.v1.HealthCheckRequest.service", "grpc/health/v1/health.proto"],
    ["a oneof", "grpc.reflection.v1.ServerReflectionRequest.message_request", "grpc/reflection/v1/reflection.proto"],
    ["a map entry", "grpc.health.v1.HealthListResponse.StatusesEntry", "grpc/health/v1/health.proto"],
    ["a name with a leading dot", ".grpc.health.v1.HealthCheckRequest", "grpc/health/v1/health.proto"],
  ])("finds the file containing %s", async (_what, symbol, file) => {
    const [response] = await ask(served, [{ messageRequest: { case: "fileContainingSymbol", value: symbol } }]);
    expect(fileNames(response)).toEqual([file]);
  });

  it("reports unknown symbols and empty requests without ending the stream", async () => {
    const responses = await ask(served, [
      { messageRequest: { case: "fileContainingSymbol", value: "grpc.health.v1.Nope" } },
      {},
      { messageRequest: { case: "fileContainingSymbol", value: "grpc.health.v1.Health" } },
    ]);
    expect(errorOf(responses[0])).toMatchObject({ errorCode: 5, errorMessage: expect.stringContaining("grpc.health.v1.Nope") });
    expect(errorOf(responses[1])?.errorCode).toBe(3);
    expect(fileNames(responses[2])).toEqual(["grpc/health/v1/health.proto"]);
  });

  describe("over a file with imports and extensions", () => {
    const fixture = fixtureFile();
    const expectedFiles = ["fixture/v1/fixture.proto", "google/protobuf/descriptor.proto", "grpc/health/v1/health.proto"];

    it("sends the file first, then each transitive import once, enough to rebuild the schema", async () => {
      // health is served directly and imported by the fixture: still sent once.
      const [response] = await ask([fixture, file_grpc_health_v1_health], [
        { messageRequest: { case: "fileContainingSymbol", value: "fixture.v1.FixtureService.Ping" } },
      ]);
      expect(fileNames(response)).toEqual(expectedFiles);
      if (response?.messageResponse.case !== "fileDescriptorResponse") return;
      const protos = response.messageResponse.value.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b));
      // Only the answer itself may resolve imports: nothing is missing from it.
      const [first, ...rest] = protos;
      if (!first) return;
      const rebuilt = createFileRegistry(first, (name) => rest.find((p) => p.name === name));
      expect(rebuilt.getService("fixture.v1.FixtureService")?.methods[0]?.input.typeName).toBe(
        "grpc.health.v1.HealthCheckRequest",
      );
      expect(rebuilt.getExtension("fixture.v1.sensitive")?.extendee.typeName).toBe("google.protobuf.FieldOptions");
    });

    it("resolves imports by file name and nested symbols", async () => {
      const responses = await ask([fixture], [
        { messageRequest: { case: "fileByFilename", value: "google/protobuf/descriptor.proto" } },
        { messageRequest: { case: "fileContainingSymbol", value: "fixture.v1.Outer.Inner.Color" } },
        { messageRequest: { case: "fileContainingSymbol", value: "fixture.v1.Outer.Inner.RED" } },
        { messageRequest: { case: "fileContainingSymbol", value: "fixture.v1.Outer.nested_ext" } },
        { messageRequest: { case: "fileContainingSymbol", value: "fixture.v1.sensitive" } },
      ]);
      expect(fileNames(responses[0])).toEqual(["google/protobuf/descriptor.proto"]);
      for (const response of responses.slice(1)) expect(fileNames(response)).toEqual(expectedFiles);
    });

    it("finds extensions by extendee and number", async () => {
      const responses = await ask([fixture], [
        {
          messageRequest: {
            case: "fileContainingExtension",
            value: { containingType: "google.protobuf.FieldOptions", extensionNumber: 50001 },
          },
        },
        {
          messageRequest: {
            case: "fileContainingExtension",
            value: { containingType: "fixture.v1.Outer", extensionNumber: 199 },
          },
        },
      ]);
      expect(fileNames(responses[0])).toEqual(expectedFiles);
      expect(errorOf(responses[1])).toMatchObject({ errorCode: 5, errorMessage: expect.stringContaining("199") });
    });

    it("lists extension numbers of a type, and NOT_FOUND for an unknown type", async () => {
      const responses = await ask([fixture], [
        { messageRequest: { case: "allExtensionNumbersOfType", value: "fixture.v1.Outer" } },
        { messageRequest: { case: "allExtensionNumbersOfType", value: "grpc.health.v1.HealthCheckRequest" } },
        { messageRequest: { case: "allExtensionNumbersOfType", value: "fixture.v1.Nope" } },
      ]);
      const numbers = responses.slice(0, 2).map((r) => {
        expect(r.messageResponse.case).toBe("allExtensionNumbersResponse");
        return r.messageResponse.case === "allExtensionNumbersResponse" ? r.messageResponse.value : undefined;
      });
      expect(numbers[0]?.baseTypeName).toBe("fixture.v1.Outer");
      expect([...(numbers[0]?.extensionNumber ?? [])].sort()).toEqual([100, 101]);
      expect(numbers[1]?.extensionNumber).toEqual([]);
      expect(errorOf(responses[2])?.errorCode).toBe(5);
    });
  });
});

describe("reflection over a real h2c listener, through buf curl", () => {
  const buf = fileURLToPath(new URL("../../node_modules/.bin/buf", import.meta.url));
  const sessions = new Set<http2.ServerHttp2Session>();
  let server: http2.Http2Server;
  let baseUrl = "";

  const curl = (...args: string[]) =>
    promisify(execFile)(buf, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", ...args], { timeout: 20_000 });

  beforeAll(async () => {
    const routes = (router: ConnectRouter) => {
      router.service(ServerReflection, createReflectionService(served));
      router.service(Health, createHealthService({ status: createHealthStatus() }));
    };
    server = http2.createServer(connectNodeAdapter({ routes }));
    server.on("session", (session) => {
      sessions.add(session);
      session.once("close", () => sessions.delete(session));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    for (const session of sessions) session.destroy();
    await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
  });

  it("lists services and methods from reflection", async () => {
    const services = await curl("--list-services", baseUrl);
    expect(services.stdout.trim().split("\n").sort()).toEqual([
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
    ]);
    const methods = await curl("--list-methods", baseUrl);
    expect(methods.stdout.trim().split("\n")).toEqual(
      expect.arrayContaining(["grpc.health.v1.Health/Check", "grpc.health.v1.Health/Watch", "grpc.health.v1.Health/List"]),
    );
  });

  it("calls Health/Check with no --schema: the schema comes from reflection", async () => {
    const { stdout } = await curl(`${baseUrl}/grpc.health.v1.Health/Check`);
    expect(JSON.parse(stdout)).toEqual({ status: "SERVING" });
    // buf curl exits with the gRPC code shifted left by three: NOT_FOUND (5) → 40.
    await expect(curl("-d", '{"service":"nope"}', `${baseUrl}/grpc.health.v1.Health/Check`)).rejects.toMatchObject({
      code: 5 << 3,
    });
  });
});
