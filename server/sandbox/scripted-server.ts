/**
 * The scripted wire server: a loopback `node:http` server that answers in one provider's wire
 * format, takes its next answer from a script queue (or a director, when nothing is queued), and
 * applies transport faults (refuse, hang, stall, drip, cut, UTF-8 splits, malformed frames,
 * re-chunking) on top. The sandbox provider and every test fake run on it.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { Fault, RecordedRequest, ScriptedServer, ScriptStep, TruthEntry } from "./script-types.js";
import { createRandom } from "./seeded.js";

/** A request as the wire format sees it. */
export interface WireRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

/** What the wire format wants sent; the server applies transport faults on top. */
export type WirePlan =
  | { type: "json"; status: number; headers?: Record<string, string>; body: unknown; truth?: Omit<TruthEntry, "delivered"> }
  /** `events` are complete SSE frames (each ending in a blank line), sent in order. */
  | {
      type: "sse";
      headers?: Record<string, string>;
      events: string[];
      truth?: Omit<TruthEntry, "delivered">;
      /** The events end the answer early (an in-stream provider error): the truth log says `partial`. */
      endsEarly?: boolean;
    };

/**
 * One provider's wire format: builds replies, error envelopes and content faults. Transport faults
 * (refuse, hang, stall, drip, cut, UTF-8 splits, malformed frames) are the server's.
 */
export interface WireFormat {
  kind: string;
  /** The plan for a request, given the step (with any content fault in `step.fault`). */
  plan(req: WireRequest, step: ScriptStep): WirePlan;
  /** The provider's error envelope for a status fault. */
  error(status: number, fault: Extract<Fault, { kind: "status" }>): WirePlan;
  /** An event that is not valid for the format (for `malformed_sse`). */
  malformedEvent(): string;
  /** Forgets what the format keeps between requests (a simulated prompt cache), with the server's `reset()`. */
  reset?(): void;
}

/** Decides a request's step when the script queue is empty (the sandbox's simulated model). */
export type StepDirector = (req: WireRequest) => ScriptStep;

/** Options of {@link startScriptedServer}. */
export interface ScriptedServerOptions {
  /** Loopback only: the server is never reachable from another machine. */
  host?: "127.0.0.1";
  /** The step for a request when nothing is scripted (default: an empty step, the wire's echo). */
  director?: StepDirector;
  /** Most requests and truth entries kept, oldest dropped first (default: all; a long-running server sets a bound). */
  historyLimit?: number;
  /** Most requests kept, when fewer than `historyLimit` (a long soak keeps every truth entry but not every request body). */
  requestHistoryLimit?: number;
  /** Largest request body read; a larger one drops the connection (default: unbounded). */
  maxBodyBytes?: number;
}

/** Starts a scripted server for `wire` on a free loopback port. */
export async function startScriptedServer(wire: WireFormat, opts: ScriptedServerOptions = {}): Promise<ScriptedServer> {
  const limit = opts.historyLimit ?? Number.POSITIVE_INFINITY;
  const requestLimit = Math.min(limit, opts.requestHistoryLimit ?? Number.POSITIVE_INFINITY);
  let steps: ScriptStep[] = [];
  let recorded: RecordedRequest[] = [];
  let truth: TruthEntry[] = [];
  const sockets = new Set<Socket>();
  const dropConnections = () => {
    for (const s of sockets) s.destroy();
  };

  const server = createServer((req, res) => {
    void handle(req, res).catch(() => res.destroy());
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req, opts.maxBodyBytes ?? Number.POSITIVE_INFINITY);
    const url = new URL(req.url ?? "/", "http://scripted");
    let body: unknown;
    try {
      body = raw.length > 0 ? JSON.parse(raw) : undefined;
    } catch {
      body = undefined;
    }
    const record: RecordedRequest = { method: req.method ?? "GET", path: url.pathname, search: url.search, headers: req.headers, body, receivedAt: Date.now() };
    pushBounded(recorded, record, requestLimit);
    let finished = false;
    // Every wait of this request ends when the client goes away or the server closes (`close`
    // destroys every socket, which closes the response). Not `AbortSignal.any` with a server-wide
    // signal as well: on Node 20 each such call leaves a WeakRef in that signal's set of dependants
    // for good (≈ 100 B a request, found by test/integration/fault-path-heap.test.ts).
    const gone = new AbortController();
    res.once("close", () => {
      if (!finished) record.abortedAt = Date.now();
      gone.abort();
    });
    const signal = gone.signal;
    const sleep = (ms: number) => pause(ms, signal);

    const wireReq: WireRequest = { method: record.method, path: url.pathname, query: url.searchParams, headers: req.headers, body };
    const step = steps.shift() ?? opts.director?.(wireReq) ?? {};
    if (step.delayMs !== undefined && step.delayMs > 0) {
      await sleep(step.delayMs);
      if (signal.aborted) return;
    }
    const fault = step.fault;
    if (fault?.kind === "refuse") {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === "hang") return; // the client's timeout or abort ends it
    const plan = fault?.kind === "status" ? wire.error(fault.status, fault) : wire.plan(wireReq, step);
    const log = (delivered: TruthEntry["delivered"]) => {
      if (plan.truth) pushBounded(truth, { ...plan.truth, delivered }, limit);
    };
    if (plan.type === "json") {
      res.writeHead(plan.status, { "content-type": "application/json", ...plan.headers });
      const text = JSON.stringify(plan.body);
      if (fault?.kind === "cut") {
        res.write(text.slice(0, Math.floor(text.length / 2)));
        log(plan.status < 400 ? "partial" : "none");
        await sleep(20);
        res.destroy();
        return;
      }
      res.end(text);
      finished = true;
      log(plan.status < 400 ? "complete" : "none");
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive", ...plan.headers });
    res.flushHeaders();
    const events = [...plan.events];
    if (fault?.kind === "malformed_sse") events.splice(1, 0, wire.malformedEvent());
    if (fault?.kind === "rechunk") {
      await writeRechunked(res, events.join(""), fault.seed, fault.maxPiece ?? 7, sleep);
      finished = true;
      res.end();
      log(plan.endsEarly === true ? "partial" : "complete");
      return;
    }
    const cutAt = fault?.kind === "cut" ? Math.max(1, Math.floor(events.length / 2)) : fault?.kind === "stall_after_first_chunk" ? 1 : events.length;
    for (let i = 0; i < cutAt; i++) {
      if (res.destroyed) break;
      await writeEvent(res, events[i]!, fault?.kind === "split_utf8", sleep);
      if (fault?.kind === "slow_drip" && i < cutAt - 1) await sleep(fault.delayMs);
    }
    if (res.destroyed) {
      log("partial");
      return;
    }
    if (fault?.kind === "stall_after_first_chunk") {
      log("partial");
      return; // keep the connection open and silent
    }
    if (fault?.kind === "cut") {
      log("partial");
      // Let what was written reach the client first: the cut comes after it, as on a real network.
      await sleep(20);
      res.destroy();
      return;
    }
    finished = true;
    res.end();
    log(plan.endsEarly === true ? "partial" : "complete");
  }

  await new Promise<void>((resolve) => server.listen(0, opts.host ?? "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    kind: wire.kind,
    url: `http://127.0.0.1:${port}`,
    script: (...more) => void steps.push(...more),
    requests: () => recorded,
    truth: () => truth,
    reset: () => {
      steps = [];
      recorded = [];
      truth = [];
      wire.reset?.();
    },
    dropConnections,
    close: async () => {
      dropConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Waits `ms`, or less when `signal` fires (never rejects: callers look at the response's state). */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

function pushBounded<T>(list: T[], item: T, limit: number): void {
  list.push(item);
  if (list.length > limit) list.splice(0, list.length - limit);
}

async function readBody(req: IncomingMessage, maxBytes: number): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).byteLength;
    if (size > maxBytes) throw new Error("request body too large");
    parts.push(chunk as Buffer);
  }
  return Buffer.concat(parts).toString("utf8");
}

/** Writes one SSE frame; with `splitUtf8`, cuts it inside each multi-byte character. */
async function writeEvent(res: ServerResponse, frame: string, splitUtf8: boolean, sleep: (ms: number) => Promise<void>): Promise<void> {
  const bytes = Buffer.from(frame, "utf8");
  if (!splitUtf8) {
    res.write(bytes);
    return;
  }
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    // A lead byte of a multi-byte sequence: split right after it.
    if ((bytes[i]! & 0xc0) === 0xc0) {
      res.write(bytes.subarray(start, i + 1));
      start = i + 1;
      await sleep(1);
    }
  }
  res.write(bytes.subarray(start));
}

/** Writes `body` in pieces of 1..maxPiece bytes from a seeded generator. */
async function writeRechunked(res: ServerResponse, body: string, seed: number, maxPiece: number, sleep: (ms: number) => Promise<void>): Promise<void> {
  const bytes = Buffer.from(body, "utf8");
  const next = createRandom(seed);
  for (let i = 0; i < bytes.length; ) {
    const n = 1 + Math.floor(next() * maxPiece);
    res.write(bytes.subarray(i, i + n));
    i += n;
    if (next() < 0.3) await sleep(1);
  }
}
