import { create, type DescMessage, type Message } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextKey, type HandlerContext, type Interceptor, type MethodImplSpec, type UnaryRequest, type UnaryResponse } from "@connectrpc/connect";
import { callSafely } from "../after-call.js";

/*
 * connect's `invokeUnaryImplementation` (protocol/invoke-implementation.js) for the direct paths,
 * with the interceptor chain composed once per method rather than on every call.
 *
 * connect builds the chain per call because its innermost function closes over the call's
 * handler context: a closure per interceptor and two arrays per call, and two suspended `async`
 * frames while the call runs. Here the innermost function is built once per method and finds the
 * context on the request itself — in its context values, which every interceptor passes on with
 * the request (connect's `UnaryRequest.contextValues`) — so a call costs the request object and
 * one promise chain. What the implementation sees is what connect gives it: the call's context,
 * merged with the request's service, headers, signal and values when an interceptor changed them
 * (`mergeRequest`), its answer normalized to the output message (`normalize`), and the response's
 * headers and trailers copied back when an interceptor replaced them (`copyHeaders`).
 */

/** The call's handler context, on the request's context values for the innermost function. */
const kHandlerContext = createContextKey<HandlerContext | undefined>(undefined, { description: "the direct path's handler context" });

type UnaryFn = (req: UnaryRequest) => Promise<UnaryResponse>;

/** Each method's composed chain, per interceptor list (one list per server). */
const chains = new WeakMap<MethodImplSpec, { interceptors: readonly Interceptor[]; next: UnaryFn }>();

/** Runs the interceptors and the implementation of unary `spec` for one call; resolves to the output message. */
export function invokeUnary(spec: MethodImplSpec & { kind: "unary" }, context: HandlerContext, input: unknown, interceptors: readonly Interceptor[]): Promise<Message> {
  context.values.set(kHandlerContext, context);
  const request = {
    stream: false as const,
    message: input,
    method: spec.method,
    requestMethod: context.requestMethod,
    url: context.url,
    signal: context.signal,
    header: context.requestHeader,
    service: spec.method.parent,
    contextValues: context.values,
  } as UnaryRequest;
  return chainOf(spec, interceptors)(request).then((res) => {
    copyHeaders(res.header, context.responseHeader);
    copyHeaders(res.trailer, context.responseTrailer);
    return res.message as Message;
  });
}

function chainOf(spec: MethodImplSpec & { kind: "unary" }, interceptors: readonly Interceptor[]): UnaryFn {
  const known = chains.get(spec);
  if (known !== undefined && known.interceptors === interceptors) return known.next;
  const output: DescMessage = spec.method.output;
  const innermost: UnaryFn = (req) => {
    const context = req.contextValues.get(kHandlerContext);
    if (context === undefined) {
      return Promise.reject(new ConnectError("an interceptor replaced the call's context values, so its handler context is lost", Code.Internal));
    }
    const merged = req.service === context.service && req.header === context.requestHeader && req.signal === context.signal && req.contextValues === context.values
      ? context
      : { ...context, service: req.service, requestHeader: req.header, signal: req.signal, values: req.contextValues };
    return callSafely(() => Promise.resolve(spec.impl(req.message as never, merged))).then((answer) => ({
      stream: false as const,
      message: create(output, answer as never),
      method: spec.method,
      service: spec.method.parent,
      header: context.responseHeader,
      trailer: context.responseTrailer,
    })) as Promise<UnaryResponse>;
  };
  let next = innermost;
  for (let i = interceptors.length - 1; i >= 0; i--) next = interceptors[i]!(next as never) as UnaryFn;
  chains.set(spec, { interceptors, next });
  return next;
}

/** connect's `copyHeaders`: `to` becomes `from` (nothing to do when they are the same object). */
function copyHeaders(from: Headers, to: Headers): void {
  if (from === to) return;
  for (const key of [...to.keys()]) to.delete(key);
  from.forEach((value, key) => to.set(key, value));
}
