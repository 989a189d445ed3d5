import { createServer, type Server } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError } from "./config-error.js";
import { loadConfig } from "./config.js";
import { createRedisState } from "../store/state/redis-state.js";

const servers: Server[] = [];
afterAll(() => {
  for (const s of servers) s.close();
});

// `new URL` lower-cases the scheme, so the config's check took `REDISS://` as TLS; ioredis turns
// TLS on only for a literal `rediss://` prefix, so the gateway connected in clear and sent
// `AUTH default <password>` as plain text to whatever listened on the port.
describe("redis.url with an upper-case rediss scheme", () => {
  it("never reaches Redis with the password in clear", async () => {
    const received: string[] = [];
    const server = createServer((socket) => socket.on("data", (d: Buffer) => received.push(d.toString("latin1"))));
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    let url: string | undefined;
    try {
      url = loadConfig({ env: { REDIS_URL: `REDISS://:hunter2-redis-password@127.0.0.1:${port}` } }).redis.url;
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError); // refused at start: nothing is sent
    }
    if (url !== undefined) {
      const state = createRedisState({ url, commandTimeoutMs: 300, connectTimeoutMs: 300 });
      await new Promise((r) => setTimeout(r, 400));
      await state.close();
    }
    expect(received.join("")).not.toContain("hunter2-redis-password");
  });
});
