import type { Dispatcher } from "undici";

/**
 * What the shared HTTP client knows of whether a call's upstream request left the gateway, keyed
 * by the call's abort signal (one signal per attempt: dispatch hands each attempt its own).
 *
 * A request is `pending` from the moment the client is asked to send it, and `written` once undici
 * hands it to a connection, which writes the head and a string body in the same tick. Undici never
 * writes a request whose signal fired before that hand-over (its request handler aborts it on
 * connect), so a signal that is aborted while its request is still pending belongs to a request
 * the provider never received: it cannot have been billed. Once written, nothing tells whether
 * the provider read it (it may drop a request whose client hung up, or start generating), so a
 * cancelled written request stays indeterminate and is billed an estimate.
 */
const pending = new WeakSet<AbortSignal>();
const written = new WeakSet<AbortSignal>();

/** Notes that the client was asked to send a request under `signal`. */
export function notePending(signal: AbortSignal): void {
  pending.add(signal);
}

/**
 * Whether a request sent under `signal` is known never to have been written to a connection:
 * true only when the shared HTTP client was asked to send it, `signal` has fired and no request
 * under it was written. False when it was written or when nothing is known (another transport).
 */
export function knownUnsent(signal: AbortSignal): boolean {
  return signal.aborted && pending.has(signal) && !written.has(signal);
}

/**
 * An undici interceptor that marks a request `written` when a connection takes it, unless its
 * signal fired first (undici then aborts it without writing a byte).
 */
export const trackWrites: Dispatcher.DispatcherComposeInterceptor = (dispatch) => (opts, handler) => {
  const signal = (opts as { signal?: unknown }).signal;
  if (!(signal instanceof AbortSignal)) return dispatch(opts, handler);
  const tracked: Dispatcher.DispatchHandler = {
    onRequestStart(controller, context) {
      handler.onRequestStart?.(controller, context);
      if (!signal.aborted && !controller.aborted) written.add(signal);
    },
    onRequestUpgrade: (controller, statusCode, headers, socket) => handler.onRequestUpgrade?.(controller, statusCode, headers, socket),
    onResponseStart: (controller, statusCode, headers, statusMessage) => handler.onResponseStart?.(controller, statusCode, headers, statusMessage),
    onResponseData: (controller, chunk) => handler.onResponseData?.(controller, chunk),
    onResponseEnd: (controller, trailers) => handler.onResponseEnd?.(controller, trailers),
    onResponseError: (controller, err) => handler.onResponseError?.(controller, err),
  };
  return dispatch(opts, tracked);
};
