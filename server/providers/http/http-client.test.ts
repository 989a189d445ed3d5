import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProviderError } from "../provider-error.js";
import { createHttpClient, type HttpClient } from "./http-client.js";

/*
 * The client against a plain local HTTP server: what it sends (path and query) and how it reads
 * bodies (whole, truncated, cut off).
 */

let server: Server;
let base: string;
let client: HttpClient;
const seen: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(req.url ?? "");
    if (req.url?.startsWith("/chunks")) {
      // Three chunks of 4 bytes each, written separately.
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("aaaa");
      setTimeout(() => res.write("bbbb"), 5);
      setTimeout(() => res.end("cccc"), 10);
      return;
    }
    if (req.url === "/cut") {
      res.writeHead(200, { "content-length": "100" });
      res.write("partial");
      setTimeout(() => res.socket?.destroy(), 5);
      return;
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ path: req.url, text: "é 😀" }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  client = createHttpClient({ connections: 4 });
});

afterAll(async () => {
  await client.close();
  await new Promise((resolve) => server.close(resolve));
});

const get = (url: string) => client.send({ url, method: "GET", headers: {}, signal: new AbortController().signal });

describe("createHttpClient", () => {
  it("sends the path and query of each URL, the same URL as often as asked", async () => {
    for (const url of [`${base}/v1/chat`, `${base}/v1/chat`, `${base}/v1/other?alt=sse&key=x`, `${base}/v1/chat`]) {
      const res = await get(url);
      expect(JSON.parse(await res.text())).toEqual({ path: url.slice(base.length), text: "é 😀" });
    }
    expect(seen.slice(-4)).toEqual(["/v1/chat", "/v1/chat", "/v1/other?alt=sse&key=x", "/v1/chat"]);
  });

  it("reads a body of several chunks whole, or its first maxBytes bytes", async () => {
    expect(await (await get(`${base}/chunks/1`)).text()).toBe("aaaabbbbcccc");
    expect(await (await get(`${base}/chunks/2`)).text(6)).toBe("aaaabb");
    expect(await (await get(`${base}/chunks/3`)).text(4)).toBe("aaaa");
  });

  it("turns a body cut off mid-way, and a URL it cannot send to, into connection errors", async () => {
    const res = await get(`${base}/cut`);
    await expect(res.text()).rejects.toMatchObject({ kind: "connection" });
    const refused = await get("ftp://127.0.0.1/x").catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(ProviderError);
    expect(refused).toMatchObject({ kind: "connection" });
  });
});
