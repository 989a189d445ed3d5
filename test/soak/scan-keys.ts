import type { Redis } from "ioredis";

/** The keys matching `pattern`, batch by batch, by `SCAN` (never `KEYS`: it blocks Redis for the whole walk). */
export async function* scanKeys(redis: Redis, pattern: string): AsyncGenerator<string[]> {
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
    cursor = next;
    yield keys;
  } while (cursor !== "0");
}
