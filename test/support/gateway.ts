import { listen, type Listener } from "../../server/http/listener.js";
import { createServer, type Server } from "../../server/server.js";
import { createLogCapture, type LogCapture } from "./log-capture.js";

/** A gateway listening on a free loopback port, with its log captured. */
export interface TestGateway {
  url: string;
  server: Server;
  listener: Listener;
  log: LogCapture;
  close(): Promise<void>;
}

/** Starts the composed server (every interceptor, every service) on 127.0.0.1, port 0. */
export async function startTestGateway(): Promise<TestGateway> {
  const log = createLogCapture();
  const server = createServer({ logger: log.logger }, { maxRequestBytes: 4 * 1024 * 1024 });
  const listener = await listen(server.handler, { host: "127.0.0.1", port: 0 });
  return { url: listener.url, server, listener, log, close: () => listener.shutdown(0) };
}
