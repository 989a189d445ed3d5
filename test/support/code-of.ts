import { Code, ConnectError } from "@connectrpc/connect";

/** How a call ended: "ok", or the canonical code of the error it threw. */
export function codeOf(call: unknown): Promise<Code | "ok"> {
  return Promise.resolve(call).then(
    () => "ok" as const,
    (err: unknown) => ConnectError.from(err).code,
  );
}
