import { Code, ConnectError } from "@connectrpc/connect";

/** How a call ended: "ok", or the canonical code of the error it threw. */
export function codeOf(call: unknown): Promise<Code | "ok"> {
  return Promise.resolve(call).then(
    () => "ok" as const,
    (err: unknown) => ConnectError.from(err).code,
  );
}

/** The error a call failed with; throws (failing the test) when the call succeeded. */
export function connectFailure(call: Promise<unknown>): Promise<ConnectError> {
  return call.then(
    () => {
      throw new Error("the call succeeded");
    },
    (err: unknown) => ConnectError.from(err),
  );
}
