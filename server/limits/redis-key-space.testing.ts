import type { Redis } from "ioredis";

/** Test helpers over the keys under one prefix, through an admin connection. */
export interface RedisKeySpace {
  prefix: string;
  /** PTTL of every key under the prefix, by key as the state backend names it (prefix removed). */
  ttls(): Promise<Map<string, number>>;
  /** Removes every key under the prefix. */
  clear(): Promise<void>;
}

/** The keys under `prefix` (matched literally: test prefixes hold no glob characters). */
export function redisKeySpace(admin: Redis, prefix: string): RedisKeySpace {
  const scan = async (): Promise<string[]> => {
    const keys: string[] = [];
    let cursor = "0";
    do {
      const [next, batch] = await admin.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== "0");
    return keys;
  };
  return {
    prefix,
    async ttls() {
      const keys = await scan();
      const ttls = await Promise.all(keys.map((key) => admin.pttl(key)));
      return new Map(keys.map((key, i) => [key.slice(prefix.length), ttls[i]!]));
    },
    async clear() {
      const keys = await scan();
      if (keys.length > 0) await admin.unlink(...keys);
    },
  };
}
