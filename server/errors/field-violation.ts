import { create } from "@bufbuild/protobuf";
import type { Path } from "@bufbuild/protobuf/reflect";
import { ValidationError, Violation, violationsToProto } from "@bufbuild/protovalidate";
import {
  FieldPathElementSchema,
  ViolationsSchema,
  type FieldPathElement,
} from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { Code, ConnectError } from "@connectrpc/connect";

/**
 * `InvalidArgument` refusing one request field, with the `buf.validate.Violations` detail that
 * protovalidate's interceptor attaches for a violated schema rule — so a caller reads which field
 * was refused, and why (`rule_id`), from the detail rather than the message, and the OpenAI
 * surface names it as `param` (`openai/error-mapping.ts`), whichever check refused it.
 *
 * `field` is either a `Path` built from the schema (`buildPath(…).field(…).toPath()`), which gives
 * exactly the error protovalidate gives: the path's field numbers and types in the detail, the
 * message `path: message [rule_id]`, and the `ValidationError` as cause; or the field as the admin
 * services write it in their messages — dotted, with list indexes and quoted map keys
 * (`template.attachments[2]`, `labels["team"]`) — which keeps their message `field: message` and
 * names each element of the detail's path by field name, index or key.
 */
export function fieldViolation(field: Path | string, message: string, ruleId: string): ConnectError {
  if (typeof field !== "string") {
    const violations = [new Violation(message, ruleId, field, [], false)];
    const [value, desc] = violationsToProto(violations);
    const cause = new ValidationError(violations);
    return new ConnectError(cause.message, Code.InvalidArgument, undefined, [{ desc, value }], cause);
  }
  return fieldViolations([{ field, message, ruleId }]);
}

/** One refused field, written as the admin services write it (see {@link fieldViolation}). */
export interface FieldProblem {
  field: string;
  message: string;
  ruleId: string;
}

/**
 * `InvalidArgument` refusing several fields at once (a check that reports every problem it
 * finds): one `buf.validate.Violations` detail holding a violation per problem, in order, and
 * the message `field: message; field: message`.
 */
export function fieldViolations(problems: readonly FieldProblem[]): ConnectError {
  const value = create(ViolationsSchema, {
    violations: problems.map(({ field, message, ruleId }) => ({ field: { elements: elementsOf(field) }, ruleId, message, forKey: false })),
  });
  const message = problems.map((p) => `${p.field}: ${p.message}`).join("; ");
  return new ConnectError(message, Code.InvalidArgument, undefined, [{ desc: ViolationsSchema, value }]);
}

/** One element of a written path: a field name, then an index or a quoted map key, if any. */
const ELEMENT = String.raw`([A-Za-z_][A-Za-z0-9_]*)(?:\[(\d+|"(?:[^"\\]|\\.)*")\])?`;
const WHOLE = new RegExp(String.raw`^${ELEMENT}(?:\.${ELEMENT})*$`);

/**
 * The elements of a written field path. A path this grammar does not cover (none of the gateway's
 * own) becomes a single element named by the whole text: the detail still names the field.
 */
function elementsOf(path: string): FieldPathElement[] {
  if (!WHOLE.test(path)) return [create(FieldPathElementSchema, { fieldName: path })];
  const elements: FieldPathElement[] = [];
  for (const [, fieldName, subscript] of path.matchAll(new RegExp(String.raw`(?:^|\.)${ELEMENT}`, "g"))) {
    const element = create(FieldPathElementSchema, { fieldName });
    if (subscript !== undefined) {
      element.subscript = subscript.startsWith('"') ? { case: "stringKey", value: JSON.parse(subscript) as string } : { case: "index", value: BigInt(subscript) };
    }
    elements.push(element);
  }
  return elements;
}
