/**
 * The soak's load: a fixed number of client workers, each looping over operations until told to
 * stop. An operation picks a replica at random among those the "load balancer" considers up (an
 * L4 balancer's view), a kind (unary or streamed, Connect/gRPC or the OpenAI surface), sometimes
 * a scripted provider fault and sometimes a client abort, and records invoke + completion.
 */
import type { History, KeyRole, OpKind } from "./history.js";
import { createSoakClients, type CallInput } from "./op-calls.js";
import type { Replica } from "./replica.js";
import { OP_FAULTS, type OpFault } from "./soak-providers.js";
import { createRandom } from "../../server/sandbox/seeded.js";

/** Load options. */
export interface LoadOptions {
  workers: number;
  /** Workers (from 0) that use the small-budget key (P1). */
  cappedWorkers: number;
  /** Workers (after the capped ones) that use the RPM-limited key (P5). */
  rpmWorkers: number;
  /** Share of operations that ask for a provider fault. */
  faultRate: number;
  /** Share of otherwise fault-free streams the provider drips slowly (long-lived streams for the kill and the drain). */
  dripRate: number;
  /** Share of operations the client aborts. */
  abortRate: number;
  /** Client deadline of every operation. */
  timeoutMs: number;
  maxTokens: number;
  route: string;
  /** Pause between a worker's operations (the RPM workers' pace comes from here too). */
  thinkMs: number;
  seed: number;
}

/** A running load. */
export interface Load {
  /** Stops starting operations; resolves when every worker's last one completed. */
  stop(): Promise<void>;
  /** Operations in flight on a replica right now that started at least `olderThanMs` ago. */
  inFlight(replica: number, olderThanMs?: number): number;
}

const KINDS: Array<[OpKind, number]> = [
  ["chat", 0.25],
  ["stream", 0.35],
  ["openai", 0.15],
  ["openai_stream", 0.25],
];

/** Starts the workers. `secrets` holds each key role's secret. */
export function startLoad(replicas: readonly Replica[], secrets: Record<KeyRole, string>, history: History, opts: LoadOptions): Load {
  const clients = createSoakClients();
  const inFlight = new Map<number, Map<string, number>>();
  let running = true;
  let serial = 0;
  const run = `r${Date.now().toString(36)}`;

  const worker = async (process: number) => {
    const random = createRandom(opts.seed * 1000 + process);
    const key: KeyRole = process < opts.cappedWorkers ? "capped" : process < opts.cappedWorkers + opts.rpmWorkers ? "rpm" : "app";
    while (running) {
      const live = replicas.filter((r) => r.up);
      if (live.length === 0) {
        await sleep(50);
        continue;
      }
      const replica = live[Math.floor(random() * live.length)]!;
      let kind: OpKind = "chat";
      let roll = random();
      for (const [k, share] of KINDS) {
        if ((roll -= share) < 0) {
          kind = k;
          break;
        }
      }
      const streamed = kind === "stream" || kind === "openai_stream";
      let fault: OpFault | undefined = random() < opts.faultRate ? OP_FAULTS[Math.floor(random() * OP_FAULTS.length)] : undefined;
      if (fault === undefined && streamed && random() < opts.dripRate) fault = "drip";
      const aborted = random() < opts.abortRate;
      const requestId = `${run}-${process}-${++serial}`;
      const input: CallInput = {
        url: replica.url,
        secret: secrets[key],
        requestId,
        // Long words: the gateway's input estimate (characters / 4) stays above the fakes' count (words).
        prompt: `[op:${requestId}] ${fault === undefined ? "" : `[fault:${fault}] `}please summarise everything considered thoroughly`,
        maxTokens: opts.maxTokens,
        route: opts.route,
        timeoutMs: opts.timeoutMs,
        ...(aborted ? { abortAfter: streamed ? 1 + Math.floor(random() * 4) : Math.floor(random() * 200) } : {}),
      };
      const base = { process, request_id: requestId, kind, key, replica: replica.index, ...(fault === undefined ? {} : { fault }), ...(aborted ? { aborted } : {}) };
      const t_start = Date.now();
      history.invoke({ ...base, t_start });
      const mine = inFlight.get(replica.index) ?? new Map<string, number>();
      inFlight.set(replica.index, mine.set(requestId, t_start));
      const result = await clients.call(kind, input);
      mine.delete(requestId);
      history.complete({ ...base, ...result, t_start, t_end: Date.now() });
      if (opts.thinkMs > 0) await sleep(opts.thinkMs * (0.5 + random()));
    }
  };

  const done = Promise.all(Array.from({ length: opts.workers }, (_, i) => worker(i)));
  return {
    async stop() {
      running = false;
      await done;
    },
    inFlight(replica, olderThanMs = 0) {
      const now = Date.now();
      return [...(inFlight.get(replica)?.values() ?? [])].filter((t) => now - t >= olderThanMs).length;
    },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
