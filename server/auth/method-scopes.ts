import { getOption, type DescMethod, type DescService } from "@bufbuild/protobuf";
import { required_scope, type Scope } from "../../gen/ts/switchboard/v1/options_pb.js";

/** The scope each guarded method requires, read once from the schema. */
export interface MethodScopes {
  /**
   * The `(switchboard.v1.required_scope)` of a guarded method (possibly `SCOPE_UNSPECIFIED`,
   * which no key satisfies), or `undefined` for a method of an unguarded service.
   */
  requiredScope(method: DescMethod): Scope | undefined;
}

/**
 * Reads `(switchboard.v1.required_scope)` of every method of `guarded` into a table, at start, so
 * the per-request check is one map lookup. Methods of other services (gRPC health and reflection)
 * are unguarded: public.
 */
export function createMethodScopes(guarded: readonly DescService[]): MethodScopes {
  const table = new Map<string, Scope>();
  for (const service of guarded) {
    for (const method of service.methods) table.set(keyOf(method), getOption(method, required_scope));
  }
  // Per descriptor object, so a call's lookup builds no key string (two per call: audit and auth).
  const byMethod = new WeakMap<DescMethod, Scope | undefined>();
  return {
    requiredScope(method) {
      if (byMethod.has(method)) return byMethod.get(method);
      const scope = table.get(keyOf(method));
      byMethod.set(method, scope);
      return scope;
    },
  };
}

function keyOf(method: DescMethod): string {
  return `${method.parent.typeName}/${method.name}`;
}
