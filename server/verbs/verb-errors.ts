import { Code, ConnectError } from "@connectrpc/connect";
import { TemplateError } from "./templates/prompt-template.js";

/**
 * The errors verbs raise, all `ConnectError`s with a canonical code and a message written for
 * callers: a problem with what the caller sent (template, schema, labels) is INVALID_ARGUMENT;
 * a model whose output stays unusable after the one repair is FAILED_PRECONDITION.
 */

/**
 * The request (or the template it selects) cannot be used, and no one field of it is at fault:
 * a refusal of one field is `fieldViolation` (`errors/field-violation.ts`), which names it.
 */
export function invalidArgument(message: string, cause?: unknown): ConnectError {
  return new ConnectError(message, Code.InvalidArgument, undefined, undefined, cause);
}

/** The model's output could not be made to fit the verb's contract. */
export function failedPrecondition(message: string, cause?: unknown): ConnectError {
  return new ConnectError(message, Code.FailedPrecondition, undefined, undefined, cause);
}

/** A `TemplateError` as it crosses the boundary: INVALID_ARGUMENT with its message. */
export function templateErrorToConnect(err: TemplateError): ConnectError {
  return invalidArgument(err.message, err);
}

/** Runs `fn`, turning a `TemplateError` into INVALID_ARGUMENT. */
export function withTemplateErrors<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof TemplateError) throw templateErrorToConnect(err);
    throw err;
  }
}
