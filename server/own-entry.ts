/**
 * `map[key]` when `key` is one of `map`'s own keys, else `undefined`. For a key a caller chose (a
 * request field, a header, a URL's extension): a plain object literal also answers
 * `constructor`, `toString`, `__proto__` and the rest of `Object.prototype`, which would pass a
 * membership check and then travel on as a function or an object.
 */
export function ownEntry<V>(map: Readonly<Record<string, V>>, key: string): V | undefined {
  return Object.hasOwn(map, key) ? map[key] : undefined;
}
