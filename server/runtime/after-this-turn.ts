/**
 * When a call's bookkeeping runs: after its answer is written, on the same turn of the event loop.
 *
 * What a call owes once it has its answer — the budget's settle, the cache's store, the call's
 * observation (metrics, request log, span) — used to run in the promise chain that carried the
 * answer to its front door, so the answer waited for it. node:http writes an answer when its own
 * `process.nextTick` uncorks the socket, after that chain; an immediate runs after every I/O
 * callback of the turn and those ticks. So work chained on {@link afterThisTurn} starts just after
 * the answer's write, and still before the loop polls again: a request that arrives after the
 * answer (the caller's next call) is read on a later turn, behind the commands this work sends.
 * (An answer written from an immediate — none of ours is — would have its bookkeeping on the next
 * turn's; a settle that lands later only holds more for longer, so admission stays safe.)
 * At one connection the answer leaves 0.07 ms (OpenAI surface) and 0.14 ms (Connect) sooner after
 * the ledger's append completes, ≈ 0.05–0.11 ms of the p50 (bench/README.md, seventeenth pass).
 *
 * One immediate and one promise a turn, however many calls end in it. The immediate is the one
 * Node had when this module loaded, so a test's fake timers do not hold the bookkeeping back.
 */
const immediate = setImmediate;

let turnEnd: Promise<void> | undefined;

/**
 * Resolves once this turn's I/O callbacks and ticks have run (an immediate). Called from an
 * immediate while none of its own is pending, it resolves on the next turn's.
 */
export function afterThisTurn(): Promise<void> {
  turnEnd ??= new Promise<void>((resolve) => {
    immediate(() => {
      turnEnd = undefined;
      resolve();
    });
  });
  return turnEnd;
}

/**
 * Runs `record` (a call's access line, metrics, span) once this turn is over. A throw there is
 * dropped: recording a call whose answer has left must not fail anything, nor end the process as
 * an unhandled rejection would.
 */
export function recordAfterThisTurn(record: () => void): void {
  void afterThisTurn().then(() => {
    try {
      record();
    } catch {
      // Nothing to fail: the answer has left.
    }
  });
}
