import type { UniversalServerRequest } from "@connectrpc/connect/protocol";
import { headerTimeout as connectTimeoutHeader, parseTimeout as parseConnectTimeout } from "@connectrpc/connect/protocol-connect";
import { headerTimeout as grpcTimeoutHeader, parseTimeout as parseGrpcTimeout } from "@connectrpc/connect/protocol-grpc";
import { MAX_TIMER_MS } from "../runtime/node-timer.js";
import type { HandlerWrapper } from "./connect-node-handlers.js";

/*
 * A deadline beyond a Node timer's range on connect-node's path (Connect over HTTP/2, gRPC-Web,
 * gRPC over HTTP/1.1, client and bidi streams, a service with options of its own).
 *
 * The protocols allow deadlines longer than a Node timer holds (`connect-timeout-ms`: 10 digits,
 * ≈ 115 days; `grpc-timeout`: 8 digits of hours), and connect arms its deadline with a bare
 * `setTimeout`, which fires after 1 ms past 2^31 - 1 ms (≈ 24.8 days): the call was cancelled as
 * soon as it began. The direct paths arm no timer for such a deadline (`timeoutWithin`); here the
 * header is lowered to the longest deadline a timer holds before connect reads it — a deadline no
 * call lives to see either way. The implementation and the interceptors see the lowered value.
 */

/** The longest `grpc-timeout` within {@link MAX_TIMER_MS} (8 digits at most). */
const GRPC_TIMEOUT_WITHIN = `${Math.floor(MAX_TIMER_MS / 1000)}S`;

/** A request's step in front of connect-node's handlers (`wrapRouterHandlers`): its timeout header lowered to {@link MAX_TIMER_MS} when it says more; see the file comment. */
export const deadlineInTimerRange: HandlerWrapper = () => lowerDeadline;

function lowerDeadline(req: UniversalServerRequest): UniversalServerRequest {
  // A malformed value stays as it came: connect refuses it.
  const connect = req.header.get(connectTimeoutHeader);
  if (connect !== null && (parseConnectTimeout(connect, Number.MAX_SAFE_INTEGER).timeoutMs ?? 0) > MAX_TIMER_MS) req.header.set(connectTimeoutHeader, String(MAX_TIMER_MS));
  const grpc = req.header.get(grpcTimeoutHeader);
  if (grpc !== null && (parseGrpcTimeout(grpc, Number.MAX_SAFE_INTEGER).timeoutMs ?? 0) > MAX_TIMER_MS) req.header.set(grpcTimeoutHeader, GRPC_TIMEOUT_WITHIN);
  return req;
}
