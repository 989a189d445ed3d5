/**
 * A bounded map keyed by a secret's HMAC (never the secret), least recently used evicted first: the
 * storage of the authenticator's key cache and refusal cache. `keyIdOf` names the key an entry
 * belongs to, so every entry of one key can be dropped at once after it changed on this replica.
 */
export interface HmacLru<V> {
  /** The entry, marked most recently used. */
  get(secretHmac: string): V | undefined;
  set(secretHmac: string, value: V): void;
  delete(secretHmac: string): void;
  /** Drops every entry of one key (all its secrets). */
  forgetKey(keyId: string): void;
  readonly size: number;
}

export function createHmacLru<V>(maxEntries: number, keyIdOf: (value: V) => string | undefined): HmacLru<V> {
  const entries = new Map<string, V>();
  return {
    get(secretHmac) {
      const value = entries.get(secretHmac);
      if (value !== undefined) {
        // Map keeps insertion order: re-inserting marks the entry most recently used.
        entries.delete(secretHmac);
        entries.set(secretHmac, value);
      }
      return value;
    },
    set(secretHmac, value) {
      entries.delete(secretHmac);
      entries.set(secretHmac, value);
      while (entries.size > maxEntries) {
        const oldest = entries.keys().next();
        if (oldest.done) break;
        entries.delete(oldest.value);
      }
    },
    delete(secretHmac) {
      entries.delete(secretHmac);
    },
    forgetKey(keyId) {
      for (const [hmac, value] of entries) if (keyIdOf(value) === keyId) entries.delete(hmac);
    },
    get size() {
      return entries.size;
    },
  };
}
