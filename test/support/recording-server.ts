import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

/** One request a {@link RecordingServer} received. */
export interface RecordedRequest {
  method: string;
  /** The request target as sent (path and query). */
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A real HTTP/1.1 server on 127.0.0.1 that keeps every request it receives. */
export interface RecordingServer {
  /** `http://127.0.0.1:{port}`, no trailing slash. */
  origin: string;
  /** The requests received so far, in order. */
  requests: RecordedRequest[];
  /** TCP connections accepted so far (a client refused before connecting makes none). */
  connections(): number;
  close(): Promise<void>;
}

/** What the server answers every request with (default 200, empty body). */
export interface RecordingReply {
  status?: number;
  headers?: Record<string, string>;
  body?: Uint8Array | string;
}

/**
 * Starts a {@link RecordingServer} on an ephemeral port: what an outbound client really put on the
 * wire (headers, target, body), not what it was asked to send.
 */
export async function startRecordingServer(reply: RecordingReply = {}): Promise<RecordingServer> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      requests.push({ method: req.method ?? "", path: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(reply.status ?? 200, reply.headers ?? {});
      res.end(reply.body ?? "");
    });
  });
  let connections = 0;
  server.on("connection", () => connections++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
