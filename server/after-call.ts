/** Calls `fn`, turning a synchronous throw into a rejection (as an `async` function would). */
export function callSafely<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return fn();
  } catch (err) {
    return Promise.reject(err);
  }
}

/**
 * `run()`'s promise, then `onValue` with its value or `onError` with its failure (default: passed
 * on) — a promise chain where an `async` function would await it. A pipeline stage or a layer of
 * dispatch that only acts after its inner call keeps no suspended `async` frame per call that way:
 * every such frame of a call in flight is copied by each scavenge at high concurrency
 * (bench/README.md, "Eleventh pass"). A synchronous throw of `run` reaches `onError` as a
 * rejection would.
 */
export function afterCall<T, U>(run: () => Promise<T>, onValue: (value: T) => U | PromiseLike<U>, onError?: (err: unknown) => U | PromiseLike<U>): Promise<U> {
  return callSafely(run).then(onValue, onError);
}

/**
 * `run()`'s promise with `done()` called once it settles, either way, before its outcome is passed
 * on: a `finally` without a suspended frame (and without the extra promises of
 * `Promise.prototype.finally`).
 */
export function afterSettled<T>(run: () => Promise<T>, done: () => void): Promise<T> {
  return afterCall(
    run,
    (value) => {
      done();
      return value;
    },
    (err: unknown) => {
      done();
      throw err;
    },
  );
}
