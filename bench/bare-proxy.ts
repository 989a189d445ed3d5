/**
 * The floor a Node gateway can reach here: node:http in, an undici keep-alive pool out, bytes
 * copied through, nothing else (no auth, no parsing, no logging).
 *
 *   node --import tsx bench/bare-proxy.ts PORT UPSTREAM_URL
 */
import { createServer } from "node:http";
import { Pool } from "undici";

const port = Number(process.argv[2] ?? 0);
const pool = new Pool(process.argv[3] ?? "http://127.0.0.1:9", { connections: 256, pipelining: 1 });

const server = createServer(async (req, res) => {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  try {
    const upstream = await pool.request({
      path: req.url ?? "/",
      method: "POST",
      headers: { "content-type": "application/json" },
      body: Buffer.concat(chunks),
    });
    res.writeHead(upstream.statusCode, { "content-type": String(upstream.headers["content-type"] ?? "application/json") });
    for await (const c of upstream.body) res.write(c);
    res.end();
  } catch {
    res.writeHead(502).end();
  }
});
server.keepAliveTimeout = 65_000;
server.listen(port, "127.0.0.1", () => {
  const address = server.address();
  process.stdout.write(`${typeof address === "object" && address ? address.port : port}\n`);
});
