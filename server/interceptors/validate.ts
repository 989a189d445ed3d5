import { create, type DescFile, type DescMessage } from "@bufbuild/protobuf";
import { createValidator, type Validator } from "@bufbuild/protovalidate";
import type { Interceptor } from "@connectrpc/connect";
import { createValidateInterceptor as createProtovalidateInterceptor } from "@connectrpc/validate";

/** Options of {@link createValidateInterceptor}. */
export interface ValidateInterceptorOptions {
  /** Files whose request messages are validated; their rules are compiled once, at start. */
  files: readonly DescFile[];
  /** The validator (default a new one): share it with what else checks the schema's rules. */
  validator?: Validator;
}

/**
 * Checks every request message against the protovalidate rules in the schema and answers
 * `InvalidArgument` with a `buf.validate.Violations` detail naming each offending field.
 * One validator is created and warmed at start: its first call compiles the CEL rules
 * (60–120 ms), which must not land on a caller's request.
 */
export function createValidateInterceptor(opts: ValidateInterceptorOptions): Interceptor {
  const validator = opts.validator ?? createValidator();
  warm(validator, opts.files);
  return createProtovalidateInterceptor({ validator });
}

/** Validates an empty instance of every request type so the rules compile now, not on a request. */
function warm(validator: Validator, files: readonly DescFile[]): void {
  for (const file of files) {
    for (const service of file.services) {
      for (const method of service.methods) warmOne(validator, method.input);
    }
  }
}

function warmOne(validator: Validator, schema: DescMessage): void {
  const result = validator.validate(schema, create(schema));
  // A rule that fails to compile would otherwise surface as InvalidArgument on every call.
  if (result.kind === "error") throw new Error(`protovalidate rules of ${schema.typeName} do not compile: ${result.error.message}`);
}
