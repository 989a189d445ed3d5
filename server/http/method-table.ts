import type { DescMessage, DescMethod, DescService } from "@bufbuild/protobuf";
import { createServiceImplSpec, type ConnectRouter } from "@connectrpc/connect";
import { createMethodSerializationLookup, validateReadWriteMaxBytes, type MethodSerializationLookup } from "@connectrpc/connect/protocol";
import type { Limits, Procedure } from "./connect-call.js";
import { withJsonValueBudget, withValueBudget } from "./value-budget.js";

/*
 * The methods the direct paths (server/http/connect-h1.ts, server/http/grpc-h2.ts) may serve,
 * learnt from the router connect-node is given: recording the registrations rather than a list of
 * our own keeps the two from drifting apart. A method's serialization (with its size limits) is
 * the same for every protocol, so one table serves both paths.
 */

/** The recorded methods; see the file comment. */
export interface MethodTable {
  /** connect's limits for the table's `readMaxBytes` (`validateReadWriteMaxBytes`). */
  readonly limits: Limits;
  /** Wraps a router so that every service registered on it is also recorded here. */
  record(router: ConnectRouter): ConnectRouter;
  /** The unary or server-streaming method at a request's URL (its query ignored), if recorded. */
  lookup(url: string): Procedure | undefined;
}

/**
 * How request messages are read from binary, here and by connect-node (server.ts): unknown fields
 * are skipped, not kept — protobuf-es keeps an object and a byte view per unknown field, so a body
 * of nothing else cost ≈ 80 times its size in heap (4 MiB: 325 MB) before any interceptor ran.
 */
export const BINARY_OPTIONS = { readUnknownFields: false } as const;

/**
 * `lookup` with its request messages, binary and JSON, refused past `MAX_REQUEST_VALUES` before
 * they are parsed (server/http/value-budget.ts): a few bytes of wire make a message object each.
 */
function budgeted(method: DescMethod, lookup: MethodSerializationLookup<DescMessage, DescMessage>): MethodSerializationLookup<DescMessage, DescMessage> {
  const binaryInput = withValueBudget(method.input, lookup.getI(true));
  const jsonInput = withJsonValueBudget(lookup.getI(false));
  return {
    getI: (binary) => (binary ? binaryInput : jsonInput),
    getO: (binary) => lookup.getO(binary),
  };
}

export function createMethodTable(readMaxBytes: number): MethodTable {
  const limits = validateReadWriteMaxBytes(readMaxBytes, undefined, undefined);
  const procedures = new Map<string, Procedure>();

  const add = (service: DescService, impl: object): void => {
    const spec = createServiceImplSpec(service, impl as never);
    for (const method of Object.values(spec.methods)) {
      if (method.kind !== "unary" && method.kind !== "server_streaming") continue;
      procedures.set(`/${service.typeName}/${method.method.name}`, {
        spec: method,
        serialization: budgeted(method.method, createMethodSerializationLookup(method.method, BINARY_OPTIONS, undefined, limits)),
        name: `${service.typeName}.${method.method.name}`,
      });
    }
  };

  const record = (router: ConnectRouter): ConnectRouter => {
    const recording: ConnectRouter = {
      get handlers() {
        return router.handlers;
      },
      service(service, impl, options) {
        router.service(service, impl, options);
        // A service with options of its own (interceptors, limits, protocols) stays with connect-node.
        if (options === undefined) add(service, impl);
        return recording;
      },
      rpc(method, impl, options) {
        router.rpc(method, impl, options);
        return recording;
      },
    };
    return recording;
  };

  const lookup = (url: string): Procedure | undefined => {
    const query = url.indexOf("?");
    return procedures.get(query === -1 ? url : url.slice(0, query));
  };

  return { limits, record, lookup };
}
