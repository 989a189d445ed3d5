import type { EmbedRequest, ModelRequest } from "../providers/model.js";
import type { CallMeta, Stage } from "./model-call.js";

/** What {@link createAhead} needs from the stage whose work it starts ahead. */
export interface AheadOps<T> {
  /** Whether the stage has work for the call at all (no: nothing is started, nothing wrapped). */
  covers(meta: CallMeta): boolean;
  /** Starts the stage's work for the call (`hedged`: a unary call, which may be hedged). */
  begin(meta: CallMeta, request: ModelRequest | EmbedRequest, hedged: boolean): Promise<T>;
  /** Undoes what `begin` did for a call that never reached the stage to take it. */
  giveBack(value: T, meta: CallMeta): void;
}

/** Work of a stage started further out, so its round trip is shared with the stages in between. */
export interface Ahead<T> {
  /**
   * A stage to place further out: for each call `when` says (and the stage covers) it starts the
   * work before the stages in between run, so it leaves in the same turn as theirs and comes back
   * in the same round trip. What the call never reaches the stage to {@link take} — it was
   * refused, or answered, on the way — is given back when the call ends. A stream starts it on its
   * first read (a stream nobody reads starts nothing).
   */
  stage(when: (meta: CallMeta) => boolean): Stage;
  /** The work started ahead for the call of `meta`, handed out once; undefined when none was. */
  take(meta: CallMeta): Promise<T> | undefined;
}

export function createAhead<T>(ops: AheadOps<T>): Ahead<T> {
  // By the call's meta: the stages in between pass it on as it is. Gone with the call.
  const started = new WeakMap<CallMeta, Promise<T>>();
  /** Whether to start the work of the call of `meta` ahead: `when` says so, the stage covers it, and none is started yet. */
  const wanted = (when: (meta: CallMeta) => boolean, meta: CallMeta): boolean => when(meta) && !started.has(meta) && ops.covers(meta);
  const start = (meta: CallMeta, request: ModelRequest | EmbedRequest, hedged: boolean): void => {
    const work = ops.begin(meta, request, hedged);
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
  const unary = async <C extends { meta: CallMeta; request: ModelRequest | EmbedRequest }, R>(when: (meta: CallMeta) => boolean, call: C, run: (call: C) => Promise<R>): Promise<R> => {
    if (!wanted(when, call.meta)) return run(call);
    start(call.meta, call.request, true);
    try {
      return await run(call);
    } finally {
      giveBackUntaken(call.meta);
    }
  };
  return {
    stage: (when) => (next) => ({
      chat: (call) => unary(when, call, (c) => next.chat(c)),
      embed: (call) => unary(when, call, (c) => next.embed(c)),
      chatStream(call) {
        if (!wanted(when, call.meta)) return next.chatStream(call);
        const inner = next.chatStream(call);
        return {
          chunks: (async function* () {
            start(call.meta, call.request, false);
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
