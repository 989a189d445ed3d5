/**
 * Resolves on a later turn of the event loop: where a caller across a socket sees an answer, and
 * by when the work chained on `afterThisTurn` in the answer's turn has run (up to its first wait
 * on I/O).
 */
export const laterTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
