import type { ConnectRouter } from "@connectrpc/connect";
import type { UniversalHandler, UniversalServerRequest } from "@connectrpc/connect/protocol";

/**
 * What a request goes through before connect-node's handler serves it: the request to hand on —
 * the same one (its headers changed in place, say) or a copy (a body replaced).
 */
export type RequestStep = (req: UniversalServerRequest) => UniversalServerRequest;

/** A step in front of connect-node's handlers, worked out once per handler (it may refuse the handler by throwing). */
export type HandlerWrapper = (handler: UniversalHandler) => RequestStep;

/**
 * Replaces every handler on connect-node's `router` (after its routes are registered, before the
 * adapter reads them) with {@link wrapHandler}'s.
 */
export function wrapRouterHandlers(router: ConnectRouter, ...wrappers: HandlerWrapper[]): void {
  const handlers = router.handlers;
  for (let i = 0; i < handlers.length; i++) handlers[i] = wrapHandler(handlers[i]!, ...wrappers);
}

/**
 * `handler`, its requests taken through the steps of `wrappers` first, in the order given. One
 * function per handler whatever their number — not one wrapping per wrapper, each a further call
 * per request — and the handler's properties (what the router and the adapter read) copied here only.
 */
export function wrapHandler(handler: UniversalHandler, ...wrappers: HandlerWrapper[]): UniversalHandler {
  const steps = wrappers.map((wrap) => wrap(handler));
  const wrapped = (req: UniversalServerRequest) => {
    for (let i = 0; i < steps.length; i++) req = steps[i]!(req);
    return handler(req);
  };
  return Object.assign(wrapped, {
    protocolNames: handler.protocolNames,
    service: handler.service,
    method: handler.method,
    requestPath: handler.requestPath,
    allowedMethods: handler.allowedMethods,
    supportedContentType: handler.supportedContentType,
  });
}
