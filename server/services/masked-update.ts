import { clone, create, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { buildPath, reflect, type Path } from "@bufbuild/protobuf/reflect";
import { createValidator, ValidationError, Violation, violationsToProto, type Validator } from "@bufbuild/protovalidate";
import { Code, ConnectError } from "@connectrpc/connect";
import { fieldViolation } from "../errors/field-violation.js";

/**
 * The resource an Update RPC is given, read as AIP-134 says: its `name` and the fields its
 * `update_mask` names, nothing else. The schema does not validate it in the request (its field
 * is `IGNORE_ALWAYS`: an unmasked field the caller left empty, or filled with anything, is not
 * refused); the Update validates what it would store instead, {@link MaskedUpdate.merge}.
 */
export interface MaskedUpdate<R extends DescMessage> {
  /** The request's resource; `InvalidArgument` (`required`) naming the request field when absent. */
  given(resource: MessageShape<R> | undefined): MessageShape<R>;
  /**
   * `stored` with each field `masked` names (proto names; a path that is no field of the resource,
   * such as a credential's `value`, is left to the caller) taken from `given`, when it passes the
   * resource's protovalidate rules: else `InvalidArgument` with the `buf.validate.Violations`
   * detail the validate interceptor gives, each field named under the request's (`budget.limit_micros_usd`).
   * Violations in fields the mask does not name are not reported: the stored fields passed the
   * rules in force when written, and a rule tightened since must not refuse an update that leaves
   * them alone — what is refused is what the mask brought in.
   */
  merge(stored: MessageShape<R>, given: MessageShape<R>, masked: ReadonlySet<string>): MessageShape<R>;
}

/**
 * A {@link MaskedUpdate} of the resource in field `field` (proto name) of Update request `request`.
 * `validator` is best the validate interceptor's (its rules for the resource are compiled already);
 * the resource's rules are compiled now either way, not on a caller's request.
 */
export function createMaskedUpdate<R extends DescMessage>(request: DescMessage, field: string, resource: R, validator: Validator = createValidator()): MaskedUpdate<R> {
  const holder = request.fields.find((f) => f.name === field);
  if (holder?.message?.typeName !== resource.typeName) throw new Error(`${request.typeName}.${field} does not hold a ${resource.typeName}`);
  const at: Path = buildPath(request).field(holder).toPath();
  const warm = validator.validate(resource, create(resource));
  if (warm.kind === "error") throw new Error(`protovalidate rules of ${resource.typeName} do not compile: ${warm.error.message}`);

  return {
    given(value) {
      if (value === undefined) throw fieldViolation(at, "value is required", "required");
      return value;
    },
    merge(stored, given, masked) {
      const merged = clone(resource, stored);
      const to = reflect(resource, merged);
      const from = reflect(resource, clone(resource, given));
      for (const path of masked) {
        const f = resource.fields.find((x) => x.name === path);
        if (f === undefined) continue;
        if (from.isSet(f)) to.set(f, from.get(f));
        else to.clear(f);
      }
      const result = validator.validate(resource, merged);
      if (result.kind === "valid") return merged;
      // A rule that does not compile is the gateway's fault: Internal, not the caller's.
      if (result.kind === "error") throw result.error;
      // Only what the mask brought in is refused: a stored field that no longer passes its rule
      // (tightened since it was written) must not lock the resource against every other update,
      // and is refused only when masked (so the update that mends it is what is checked).
      // Message-level rules (no field path) are kept: they span fields the mask may have changed.
      const brought = result.violations.filter((v) => {
        const first = v.field[0];
        return first === undefined || first.kind !== "field" || masked.has(first.name);
      });
      if (brought.length === 0) return merged;
      const violations = brought.map((v) => new Violation(v.message, v.ruleId, [...at, ...v.field], v.rule, v.forKey));
      const [value, desc] = violationsToProto(violations);
      const cause = new ValidationError(violations);
      throw new ConnectError(cause.message, Code.InvalidArgument, undefined, [{ desc, value }], cause);
    },
  };
}
