/**
 * The unknown-key throttle through the real listener and server (README, "Keys and scopes":
 * "Unknown keys"). A client that resets its connection right after sending leaves a socket whose
 * peer Node cannot read any more: its calls must still be counted, under its address when the
 * gateway read it as the connection was accepted, else under the one address shared by every call
 * whose client is unknown. And an `X-Forwarded-For` from a peer that is not a trusted proxy must
 * not move a call to another bucket. Lookups are counted as the SQL statements the gateway's key
 * store sends, seen through its query spans.
 */
import { connect } from "node:net";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../../test/support/gateway.js";
import { createTracing } from "../observability/tracing.js";
import { generateSecret } from "./key-format.js";

const BURST = 5;
const CONNECT_PATH = "/switchboard.v1.TenantService/ListOrgs";
const OPENAI_PATH = "/v1/chat/completions";
const bodyOf = (path: string) => (path === OPENAI_PATH ? JSON.stringify({ model: "default", messages: [{ role: "user", content: "hi" }] }) : "{}");
const spans = new InMemorySpanExporter();
let gw: TestGateway;

// A gateway per test, so each starts with full buckets; one token a minute: a test's flood gets
// nothing back while it runs.
beforeEach(async () => {
  spans.reset();
  gw = await startTestGateway({ tracing: await createTracing({ exporter: spans }), auth: { unknownKeyBurst: BURST, unknownKeysPerMinute: 1 } });
});
afterEach(async () => {
  await gw?.close();
});

/**
 * Statements that looked a secret up, as the gateway sent them: the key store's lookup selects
 * both secret columns from `keys` (the span's text is cut before its `where`).
 */
const lookups = (): number =>
  spans.getFinishedSpans().filter((s) => String(s.attributes["db.query.text"] ?? "").includes('"keys"."secret_hmac", "keys"."previous_secret_hmac" from "keys"')).length;

/** The lookups once none has started for `quietMs` (the gateway answers a reset call after its client left). */
async function settled(quietMs = 400): Promise<number> {
  let last = -1;
  for (let waited = 0; waited < 15_000; waited += quietMs) {
    await new Promise((r) => setTimeout(r, quietMs));
    const now = lookups();
    if (now === last) return now;
    last = now;
  }
  return lookups();
}

/**
 * Sends one HTTP/1.1 request with a fresh well-formed key and resets the connection (RST) as soon
 * as it is written; `accepted`: only once the gateway has taken the connection.
 */
function sendAndReset(path: string, opts: { accepted?: boolean; headers?: Record<string, string> } = {}): Promise<void> {
  const port = Number(new URL(gw.url).port);
  const body = bodyOf(path);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port }, async () => {
      // (Alone: the connections before it are gone, see resets.)
      if (opts.accepted) while (gw.listener.openConnections() === 0) await new Promise((r) => setTimeout(r, 1));
      const lines = [
        `POST ${path} HTTP/1.1`,
        `host: 127.0.0.1:${port}`,
        "content-type: application/json",
        `content-length: ${Buffer.byteLength(body)}`,
        `authorization: Bearer ${generateSecret()}`,
        ...Object.entries(opts.headers ?? {}).map(([k, v]) => `${k}: ${v}`),
      ];
      socket.write(`${lines.join("\r\n")}\r\n\r\n${body}`, () => {
        socket.resetAndDestroy();
        resolve();
      });
    });
    socket.on("error", reject);
  });
}

/** `n` {@link sendAndReset}s, 10 at a time; `accepted` ones one at a time, each once the gateway has closed the one before. */
async function resets(n: number, path: string, opts: { accepted?: boolean; headers?: (i: number) => Record<string, string> } = {}): Promise<void> {
  const width = opts.accepted ? 1 : 10;
  for (let i = 0; i < n; i += width) {
    if (opts.accepted) while (gw.listener.openConnections() > 0) await new Promise((r) => setTimeout(r, 1));
    await Promise.all(
      Array.from({ length: Math.min(width, n - i) }, (_, j) => sendAndReset(path, { ...(opts.accepted ? { accepted: true } : {}), ...(opts.headers ? { headers: opts.headers(i + j) } : {}) })),
    );
  }
}

/** The HTTP status of one ordinary call from 127.0.0.1 with a fresh well-formed key. */
async function statusOfUnknownKey(path: string, headers: Record<string, string> = {}): Promise<number> {
  const res = await fetch(`${gw.url}${path}`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${generateSecret()}`, ...headers }, body: bodyOf(path) });
  await res.arrayBuffer();
  return res.status;
}

describe("unknown-key throttle through the listener", () => {
  for (const [surface, path] of [
    ["Connect", CONNECT_PATH],
    ["OpenAI", OPENAI_PATH],
  ] as const) {
    it(`${surface}: 100 calls with random keys whose client resets at once cost at most the burst of lookups beyond the address's own`, async () => {
      // 127.0.0.1's own tokens used up by calls that wait for their answer (401 each)...
      for (let i = 0; i < BURST; i++) expect(await statusOfUnknownKey(path)).toBe(401);
      expect(await settled()).toBe(BURST);
      // ...each reset call is counted under it, or — its peer never read — under the one address
      // every unknown client shares: at most the burst more, not a lookup each.
      await resets(100, path);
      const n = (await settled()) - BURST;
      expect(n).toBeLessThanOrEqual(BURST);
    });
  }

  it("a connection reset after the gateway accepted it is counted under its address, which its ordinary calls then find used up", async () => {
    await resets(30, CONNECT_PATH, { accepted: true });
    expect(await settled()).toBe(BURST);
    // Counted under "unknown" instead, 127.0.0.1 would still have its burst: 401, not 429.
    expect(await statusOfUnknownKey(CONNECT_PATH)).toBe(429);
    expect(await statusOfUnknownKey(OPENAI_PATH)).toBe(429);
  });

  it("x-forwarded-for from a peer that is no trusted proxy changes no bucket, and the refusal says which setting is missing, once", async () => {
    for (let i = 0; i < BURST + 10; i++) {
      const status = await statusOfUnknownKey(i % 2 === 0 ? CONNECT_PATH : OPENAI_PATH, { "x-forwarded-for": `203.0.113.${i + 1}` });
      expect(status, `call ${i}`).toBe(i < BURST ? 401 : 429);
    }
    expect(await settled()).toBe(BURST);
    const warnings = gw.log.lines().filter((l) => l.level === "warn" && String(l.msg).includes("SWITCHBOARD_TRUSTED_PROXIES"));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ peer: "127.0.0.1" });
  });

  it("behind a trusted proxy each forwarded client has its own bucket: one client's flood leaves the others their lookups", async () => {
    await gw.close();
    gw = await startTestGateway({
      tracing: await createTracing({ exporter: spans }),
      auth: { unknownKeyBurst: BURST, unknownKeysPerMinute: 1 },
      trustedProxies: ["127.0.0.0/8"],
    });
    // The attacker, as the proxy forwards it (a spoofed left-most entry is not what counts).
    const attacker = { "x-forwarded-for": "198.51.100.9, 203.0.113.7" };
    for (let i = 0; i < BURST + 5; i++) expect(await statusOfUnknownKey(i % 2 === 0 ? CONNECT_PATH : OPENAI_PATH, attacker), `flood ${i}`).toBe(i < BURST ? 401 : 429);
    // Another client behind the same proxy: still looked up (401 for a key that is no key, not 429).
    expect(await statusOfUnknownKey(CONNECT_PATH, { "x-forwarded-for": "203.0.113.8" })).toBe(401);
    expect(await statusOfUnknownKey(OPENAI_PATH, { "x-forwarded-for": "198.51.100.9, 203.0.113.8" })).toBe(401);
    expect(await settled()).toBe(BURST + 2);
    // The proxy's own calls (no header) are a client of their own too.
    expect(await statusOfUnknownKey(CONNECT_PATH)).toBe(401);
  });
});
