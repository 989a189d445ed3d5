import { hashSecret } from "./secret-hash.js";

/** Options of {@link createSecretDigestMemo}. */
export interface SecretDigestMemoOptions {
  /** Secrets remembered per generation (default 1 024); the memo holds at most twice this many. */
  maxEntries?: number;
  /** A secret not presented for this long is forgotten (default 10 000 ms; within 1–2× of it). */
  idleMs?: number;
}

/**
 * `hashSecret(secret, pepper)` for the secrets presented on this replica, remembered while they
 * keep being presented, so a busy key's bearer secret is HMAC'd about once per `idleMs / 2`
 * instead of on every request (the key cache is looked up by that HMAC on every call).
 *
 * Why holding the raw secret here adds no exposure the requests themselves do not: a key that is
 * in use arrives again and again, and every request carrying it holds it on this heap — the
 * `authorization` header string, the header object and the HTTP parser's buffer stay there until
 * the next garbage collection, so a heap dump of a busy replica already yields the secrets in
 * use. The memo keeps a secret only while it is in that kind of use: two generations, swapped
 * every `idleMs / 2` by an unref'd timer that stops once both are empty, so a secret not
 * presented for `idleMs` is dropped and an idle replica holds none. The key cache itself stays
 * keyed by the HMAC (`key-cache.ts`), and nothing here is logged. Revocation is unaffected: the
 * digest is a pure function of the secret and the pepper; only the key cache holds key state.
 */
export function createSecretDigestMemo(pepper: string, opts: SecretDigestMemoOptions = {}): (secret: string) => string {
  const maxEntries = opts.maxEntries ?? 1_024;
  const swapMs = Math.max(1, Math.floor((opts.idleMs ?? 10_000) / 2));
  let current = new Map<string, string>();
  let previous = new Map<string, string>();
  let timer: NodeJS.Timeout | undefined;

  const swap = (): void => {
    previous = current;
    current = new Map();
    timer = undefined;
    if (previous.size > 0) schedule();
  };
  const schedule = (): void => {
    timer = setTimeout(swap, swapMs);
    timer.unref();
  };

  return (secret) => {
    const known = current.get(secret);
    if (known !== undefined) return known;
    const digest = previous.get(secret) ?? hashSecret(secret, pepper);
    if (current.size >= maxEntries) {
      // Full: the older generation goes at once (at most 2 × maxEntries secrets held).
      previous = current;
      current = new Map();
    }
    current.set(secret, digest);
    if (timer === undefined) schedule();
    return digest;
  };
}
