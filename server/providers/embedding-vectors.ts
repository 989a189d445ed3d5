/** What an answer whose vectors {@link wellFormedVectors} refuses is, in the provider failure's message. */
export const MALFORMED_VECTORS = "the provider sent an empty, non-numeric or differently sized vector";

/**
 * Whether `vectors`, read from an embeddings answer, are vectors a caller can use: each a
 * non-empty array of numbers, all `size` long (by default as long as the first). A vector that is
 * missing, empty, holds anything but numbers, or differs in length from the others makes the
 * whole answer the provider's failure (retried or fallen back from, never stored), not a ragged
 * response whose `dimensions` is wrong. An adapter reading its answer in parts passes the size of
 * the vectors it already has, so the parts must agree with each other too.
 */
export function wellFormedVectors(vectors: readonly unknown[], size?: number): vectors is number[][] {
  const first = vectors[0];
  const length = size ?? (Array.isArray(first) ? first.length : 0);
  if (length === 0) return false;
  return vectors.every((v) => Array.isArray(v) && v.length === length && v.every((x) => typeof x === "number"));
}

/**
 * Why `vectors` cannot be the answer to a request for `requested` dimensions (undefined: the
 * model's own size), else undefined: not {@link wellFormedVectors} (all `size` long, when given),
 * or well formed but not `requested` long — a provider that ignored or misread the size asked for
 * would hand the caller vectors its index cannot hold, so that is the provider's failure too.
 */
export function vectorsProblem(vectors: readonly unknown[], requested?: number, size?: number): string | undefined {
  if (!wellFormedVectors(vectors, size)) return MALFORMED_VECTORS;
  const got = vectors[0]!.length;
  return requested === undefined || got === requested ? undefined : `the provider sent vectors of ${got} dimensions where ${requested} were requested`;
}
