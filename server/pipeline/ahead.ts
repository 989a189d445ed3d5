import { afterSettled, callSafely } from "../after-call.js";
import type { EmbedRequest, ModelRequest } from "../providers/model.js";
import type { CallMeta, Stage } from "./model-call.js";

/** What {@link createAhead} needs from the stage whose work it starts ahead. */
export interface AheadOps<T, P> {
  /**
   * What the stage has to do for the call (the limits, the budgets that cover it), worked out once
   * and handed to `begin`; undefined when nothing (then nothing is started, nothing wrapped).
   */
  plan(meta: CallMeta): P | undefined;
  /** Starts the stage's work for the call (`hedged`: a unary call, which may be hedged). */
  begin(meta: CallMeta, request: ModelRequest | EmbedRequest, hedged: boolean, plan: P): Promise<T>;
  /** Undoes what `begin` did for a call that never reached the stage to take it. */
  giveBack(value: T, meta: CallMeta): void;
}

/** Work of a stage started further out, so its round trip is shared with the stages in between. */
export interface Ahead<T> {
  /**
   * A stage to place further out: for each call `when` says (and the stage has work for) it starts the
   * work before the stages in between run, so it leaves in the same turn as theirs and comes back
   * in the same round trip. What the call never reaches the stage to {@link take} — it was
   * refused, or answered, on the way — is given back when the call ends. A stream starts it on its
   * first read (a stream nobody reads starts nothing).
   */
  stage(when: (meta: CallMeta) => boolean): Stage;
  /** The work started ahead for the call of `meta`, handed out once; undefined when none was. */
  take(meta: CallMeta): Promise<T> | undefined;
}

export function createAhead<T, P>(ops: AheadOps<T, P>): Ahead<T> {
  // By the call's meta: the stages in between pass it on as it is. Gone with the call.
  const started = new WeakMap<CallMeta, Promise<T>>();
  /** The stage's plan for the call of `meta` when its work is to start ahead: `when` says so, none is started yet, and the stage has work for it. */
  const wanted = (when: (meta: CallMeta) => boolean, meta: CallMeta): P | undefined => (when(meta) && !started.has(meta) ? ops.plan(meta) : undefined);
  const start = (meta: CallMeta, request: ModelRequest | EmbedRequest, hedged: boolean, plan: P): void => {
    const work = ops.begin(meta, request, hedged, plan);
    work.catch(() => undefined); // a refusal is the stage's to report, if the call gets there
    started.set(meta, work);
  };
  const take = (meta: CallMeta): Promise<T> | undefined => {
    const work = started.get(meta);
    if (work !== undefined) started.delete(meta);
    return work;
  };
  const giveBackUntaken = (meta: CallMeta): void => {
    take(meta)?.then(
      (value) => ops.giveBack(value, meta),
      () => undefined,
    );
  };
  const unary = <C extends { meta: CallMeta; request: ModelRequest | EmbedRequest }, R>(when: (meta: CallMeta) => boolean, call: C, run: (call: C) => Promise<R>): Promise<R> =>
    callSafely(() => {
      const plan = wanted(when, call.meta);
      if (plan === undefined) return run(call);
      start(call.meta, call.request, true, plan);
      return afterSettled(
        () => run(call),
        () => giveBackUntaken(call.meta),
      );
    });
  return {
    stage: (when) => (next) => ({
      chat: (call) => unary(when, call, (c) => next.chat(c)),
      embed: (call) => unary(when, call, (c) => next.embed(c)),
      chatStream(call) {
        const plan = wanted(when, call.meta);
        if (plan === undefined) return next.chatStream(call);
        const inner = next.chatStream(call);
        return {
          chunks: (async function* () {
            start(call.meta, call.request, false, plan);
            try {
              yield* inner.chunks;
            } finally {
              giveBackUntaken(call.meta);
            }
          })(),
          result: inner.result,
        };
      },
    }),
    take,
  };
}
