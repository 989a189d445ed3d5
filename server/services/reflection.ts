import {
  toBinary,
  type DescEnum,
  type DescExtension,
  type DescFile,
  type DescMessage,
  type MessageInitShape,
} from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, type ServiceImpl } from "@connectrpc/connect";
import {
  ServerReflection,
  type ServerReflectionRequest,
  type ServerReflectionResponseSchema,
} from "../../gen/ts/grpc/reflection/v1/reflection_pb.js";

type ResponseInit = MessageInitShape<typeof ServerReflectionResponseSchema>;
type MessageResponse = NonNullable<ResponseInit["messageResponse"]>;

/**
 * Everything reflection answers from, computed once from the served files.
 * Keys are fully-qualified names without a leading dot, and proto file names
 * with their `.proto` suffix (`grpc/health/v1/health.proto`).
 */
interface ReflectionIndex {
  /** Services declared in the served files (not in their dependencies). */
  readonly services: readonly string[];
  readonly files: ReadonlyMap<string, DescFile>;
  /** Every symbol of every indexed file → the file that declares it. */
  readonly symbols: ReadonlyMap<string, DescFile>;
  /** Message type name → extension number → the file that declares the extension. */
  readonly extensions: ReadonlyMap<string, ReadonlyMap<number, DescFile>>;
  /** The serialized `FileDescriptorProto` of each indexed file. */
  readonly encoded: ReadonlyMap<DescFile, Uint8Array>;
}

/**
 * Creates the implementation of `grpc.reflection.v1.ServerReflection` over
 * protobuf-es file descriptors, so that `buf curl`, grpcurl and Postman can
 * call the server without a local copy of the schema.
 *
 * `files` are the files whose services the server exposes; `list_services`
 * names every service declared in them. Their transitive imports are indexed
 * too, so `file_by_filename`, `file_containing_symbol` (services, methods,
 * messages at any depth including map entries, enums, enum values, fields,
 * oneofs, extensions), `file_containing_extension` and
 * `all_extension_numbers_of_type` resolve across the whole import graph.
 * Every file answer carries the file first and then all its transitive
 * dependencies, each once; the response does not rely on what earlier
 * responses in the stream sent.
 *
 * Lookup failures are `error_response`s (`NOT_FOUND`, or `INVALID_ARGUMENT`
 * for a request that sets no question) and keep the stream open, as the
 * protocol expects. The index is built here, once, never per request.
 *
 * Register with `router.service(ServerReflection, createReflectionService(files))`.
 */
export function createReflectionService(files: readonly DescFile[]): ServiceImpl<typeof ServerReflection> {
  const index = buildIndex(files);
  return {
    async *serverReflectionInfo(requests) {
      for await (const request of requests) {
        yield {
          validHost: request.host,
          originalRequest: request,
          messageResponse: answer(index, request),
        };
      }
    },
  };
}

function answer(index: ReflectionIndex, request: ServerReflectionRequest): MessageResponse {
  const question = request.messageRequest;
  switch (question.case) {
    case "listServices":
      return {
        case: "listServicesResponse",
        value: { service: index.services.map((name) => ({ name })) },
      };
    case "fileByFilename": {
      const file = index.files.get(question.value);
      return file
        ? fileResponse(index, file)
        : notFound(`file "${question.value}" is not known to this server`);
    }
    case "fileContainingSymbol": {
      const name = stripDot(question.value);
      const file = index.symbols.get(name);
      return file ? fileResponse(index, file) : notFound(`symbol "${name}" is not known to this server`);
    }
    case "fileContainingExtension": {
      const type = stripDot(question.value.containingType);
      const file = index.extensions.get(type)?.get(question.value.extensionNumber);
      return file
        ? fileResponse(index, file)
        : notFound(`extension ${question.value.extensionNumber} of "${type}" is not known to this server`);
    }
    case "allExtensionNumbersOfType": {
      const type = stripDot(question.value);
      const numbers = index.extensions.get(type);
      return numbers
        ? {
            case: "allExtensionNumbersResponse",
            value: { baseTypeName: type, extensionNumber: [...numbers.keys()] },
          }
        : notFound(`message type "${type}" is not known to this server`);
    }
    case undefined:
      return errorResponse(Code.InvalidArgument, "the request sets none of the message_request fields");
  }
}

/**
 * The file followed by its transitive imports, each once. Files are told apart
 * by name, so two runtime copies of one file (say, of a well-known type) are
 * still sent once.
 */
function fileResponse(index: ReflectionIndex, file: DescFile): MessageResponse {
  const order: DescFile[] = [file];
  const seen = new Set([file.proto.name]);
  for (let i = 0; i < order.length; i++) {
    for (const dep of order[i]?.dependencies ?? []) {
      if (!seen.has(dep.proto.name)) {
        seen.add(dep.proto.name);
        order.push(index.files.get(dep.proto.name) ?? dep);
      }
    }
  }
  const fileDescriptorProto = order.map((f) => index.encoded.get(f) ?? toBinary(FileDescriptorProtoSchema, f.proto));
  return { case: "fileDescriptorResponse", value: { fileDescriptorProto } };
}

function notFound(message: string): MessageResponse {
  return errorResponse(Code.NotFound, message);
}

function errorResponse(code: Code, errorMessage: string): MessageResponse {
  // connect's Code values are the canonical gRPC status codes (NotFound = 5).
  return { case: "errorResponse", value: { errorCode: code, errorMessage } };
}

function stripDot(name: string): string {
  return name.startsWith(".") ? name.slice(1) : name;
}

function buildIndex(served: readonly DescFile[]): ReflectionIndex {
  const files = new Map<string, DescFile>();
  const symbols = new Map<string, DescFile>();
  const extensions = new Map<string, Map<number, DescFile>>();
  const encoded = new Map<DescFile, Uint8Array>();

  // The first declaration of a name wins, like in a descriptor pool.
  const addSymbol = (name: string, file: DescFile) => {
    if (!symbols.has(name)) symbols.set(name, file);
  };
  const extensionsOf = (typeName: string) => {
    let numbers = extensions.get(typeName);
    if (!numbers) {
      numbers = new Map();
      extensions.set(typeName, numbers);
    }
    return numbers;
  };
  const addEnum = (desc: DescEnum, file: DescFile) => {
    addSymbol(desc.typeName, file);
    // Enum values are scoped as siblings of their enum (C++ scoping rules).
    const scope = desc.typeName.slice(0, desc.typeName.length - desc.name.length);
    for (const value of desc.values) addSymbol(scope + value.name, file);
  };
  const addExtension = (desc: DescExtension, file: DescFile) => {
    addSymbol(desc.typeName, file);
    const numbers = extensionsOf(desc.extendee.typeName);
    if (!numbers.has(desc.number)) numbers.set(desc.number, file);
  };
  const addMessage = (desc: DescMessage, file: DescFile) => {
    addSymbol(desc.typeName, file);
    extensionsOf(desc.typeName);
    for (const field of desc.fields) addSymbol(`${desc.typeName}.${field.name}`, file);
    for (const oneof of desc.oneofs) addSymbol(`${desc.typeName}.${oneof.name}`, file);
    // protobuf-es hides synthetic map entry messages; they are still real types.
    for (const nested of desc.proto.nestedType) {
      if (nested.options?.mapEntry) addSymbol(`${desc.typeName}.${nested.name}`, file);
    }
    for (const nested of desc.nestedMessages) addMessage(nested, file);
    for (const nested of desc.nestedEnums) addEnum(nested, file);
    for (const nested of desc.nestedExtensions) addExtension(nested, file);
  };
  const addFile = (file: DescFile) => {
    if (files.has(file.proto.name)) return;
    files.set(file.proto.name, file);
    encoded.set(file, toBinary(FileDescriptorProtoSchema, file.proto));
    for (const dep of file.dependencies) addFile(dep);
    for (const desc of file.messages) addMessage(desc, file);
    for (const desc of file.enums) addEnum(desc, file);
    for (const desc of file.extensions) addExtension(desc, file);
    for (const service of file.services) {
      addSymbol(service.typeName, file);
      for (const method of service.methods) addSymbol(`${service.typeName}.${method.name}`, file);
    }
  };

  for (const file of served) addFile(file);
  const services = [...new Set(served.flatMap((file) => file.services.map((s) => s.typeName)))];
  return { services, files, symbols, extensions, encoded };
}
