import { Code, ConnectError } from "@connectrpc/connect";

/** Options of {@link OpenAIRequestError}. */
export interface OpenAIRequestErrorOptions {
  /** The request field at fault (`messages[2].content`), OpenAI's `param`. */
  param?: string;
  /** OpenAI's machine-readable `code` (`unknown_url`); default derived from the Connect code. */
  errorCode?: string;
  /** An HTTP status other than the one the Connect code maps to (413, 405). */
  httpStatus?: number;
  /** Headers the status calls for (405's `allow`, RFC 9110 §15.5.6). */
  headers?: Record<string, string>;
}

/**
 * A refusal the OpenAI surface itself raises about the HTTP request (a bad field, an unknown
 * URL, a body too large). It stays a `ConnectError` with a canonical code — so it is mapped and
 * logged like every other failure — and adds what only OpenAI's envelope has: `param`, an
 * OpenAI error code, and a status the Connect code does not imply. (Its `name` stays
 * "ConnectError": `ConnectError`'s `instanceof` check goes by name.)
 */
export class OpenAIRequestError extends ConnectError {
  readonly param: string | undefined;
  readonly errorCode: string | undefined;
  readonly httpStatus: number | undefined;
  readonly headers: Readonly<Record<string, string>>;

  constructor(message: string, code: Code = Code.InvalidArgument, opts: OpenAIRequestErrorOptions = {}) {
    super(message, code);
    this.param = opts.param;
    this.errorCode = opts.errorCode;
    this.httpStatus = opts.httpStatus;
    this.headers = opts.headers ?? {};
  }
}

/** A request field that is missing, has the wrong type or is out of range: 400 naming it. */
export function invalidField(param: string, message: string): OpenAIRequestError {
  return new OpenAIRequestError(message, Code.InvalidArgument, { param });
}
