/**
 * The soak's provider fakes: the wire-faithful OpenAI and Anthropic scripted servers, driven by a
 * director instead of a script queue, because three replicas send to them concurrently and a
 * queue would hand faults to whichever request came first.
 *
 * Each client operation carries its tag (`[op:…]`) and optionally a fault (`[fault:…]`) in its
 * prompt; the director counts the tag's upstream attempts and answers with a text unique to the
 * attempt (`<tag> a<n> …`), so the splice checker can tell which attempt every streamed byte came
 * from, and the truth log is joined to the ledger by tag. A storm makes a share of one
 * provider's attempts fail with a status, whatever the prompt says.
 */
import { startScriptedServer, type StepDirector, type WireFormat, type WireRequest } from "../../server/sandbox/scripted-server.js";
import type { Fault, ScriptedServer, ScriptStep, TruthEntry } from "../../server/sandbox/script-types.js";
import { createRandom } from "../../server/sandbox/seeded.js";
import { anthropicWireFormat } from "../fakes/anthropic-fake.js";
import { openAIWireFormat } from "../fakes/openai-fake.js";
import { attemptText } from "./attempt-text.js";

/** Per-operation faults a prompt can ask for (`[fault:<name>]`). */
export const OP_FAULTS = ["cut", "midstream", "stall", "drip", "s503", "s429", "refuse"] as const;
/** One of {@link OP_FAULTS}. */
export type OpFault = (typeof OP_FAULTS)[number];

/** A provider-wide failure mode set by the nemesis. */
export interface Storm {
  status: 429 | 500 | 503;
  /** Share of attempts that fail, 0..1. */
  probability: number;
}

/** One upstream attempt as the fake decided it. */
export interface AttemptRecord {
  provider: string;
  tag: string;
  /** 1-based across both providers for this tag. */
  attemptNo: number;
  stream: boolean;
  /** What failed it, if anything: an op fault or `storm:<status>`. */
  fault?: string;
  at: number;
}

/** A truth-log line joined to its operation. */
export interface TaggedTruth extends TruthEntry {
  provider: string;
  tag: string;
  attemptNo: number;
}

/** The soak's two fakes and their joined logs. */
export interface SoakProviders {
  openai: ScriptedServer;
  anthropic: ScriptedServer;
  /** Every attempt decided, in order. */
  attempts(): AttemptRecord[];
  /** The attempts decided so far for one operation's tag, in order. */
  attemptsOf(tag: string): readonly AttemptRecord[];
  /** Both truth logs, tagged. */
  truth(): TaggedTruth[];
  setStorm(provider: "openai" | "anthropic", storm: Storm | undefined): void;
  close(): Promise<void>;
}

const TAG = /\[op:([A-Za-z0-9._-]+)\]/;
const FAULT = /\[fault:([a-z0-9]+)\]/;

/** Starts both fakes on loopback with the soak director. */
export async function startSoakProviders(seed = 1): Promise<SoakProviders> {
  const attempts: AttemptRecord[] = [];
  const byTag = new Map<string, AttemptRecord[]>();
  const storms = new Map<string, Storm>();
  const random = createRandom(seed);
  const meta = new WeakMap<WireRequest, { tag: string; attemptNo: number }>();

  const director =
    (provider: string): StepDirector =>
    (req) => {
      const raw = JSON.stringify(req.body ?? "");
      const tag = TAG.exec(raw)?.[1];
      if (tag === undefined) return {};
      const attemptNo = (byTag.get(tag)?.length ?? 0) + 1;
      meta.set(req, { tag, attemptNo });
      const stream = (req.body as { stream?: unknown } | undefined)?.stream === true;
      const text = attemptText({ tag, attemptNo });
      const asked = FAULT.exec(raw)?.[1] as OpFault | undefined;
      const storm = storms.get(provider);
      let fault: Fault | undefined;
      let label: string | undefined;
      if (storm !== undefined && random() < storm.probability) {
        fault = { kind: "status", status: storm.status, ...(storm.status === 429 ? { retryAfterMs: 50 } : {}) };
        label = `storm:${storm.status}`;
      } else if (asked !== undefined) {
        fault = opFault(asked, attemptNo, stream);
        if (fault !== undefined) label = asked;
      }
      const attempt: AttemptRecord = { provider, tag, attemptNo, stream, ...(label === undefined ? {} : { fault: label }), at: Date.now() };
      attempts.push(attempt);
      const mine = byTag.get(tag);
      if (mine === undefined) byTag.set(tag, [attempt]);
      else mine.push(attempt);
      const step: ScriptStep = { reply: { text } };
      if (fault !== undefined) step.fault = fault;
      return step;
    };

  const tagged = (provider: string, inner: WireFormat): WireFormat => ({
    ...inner,
    plan(req, step) {
      const plan = inner.plan(req, step);
      const m = meta.get(req);
      if (plan.truth !== undefined && m !== undefined) plan.truth = { ...plan.truth, provider, ...m } as typeof plan.truth;
      return plan;
    },
  });

  // The checkers read every truth entry but no request: a long run keeps only the last requests' bodies.
  const opts = (provider: string) => ({ director: director(provider), requestHistoryLimit: 1000 });
  const openai = await startScriptedServer(tagged("openai", openAIWireFormat()), opts("openai"));
  const anthropic = await startScriptedServer(tagged("anthropic", anthropicWireFormat()), opts("anthropic"));
  return {
    openai,
    anthropic,
    attempts: () => attempts,
    attemptsOf: (tag) => byTag.get(tag) ?? [],
    truth: () => [...openai.truth(), ...anthropic.truth()].filter((t): t is TaggedTruth => typeof (t as Partial<TaggedTruth>).tag === "string"),
    setStorm(provider, storm) {
      if (storm === undefined) storms.delete(provider);
      else storms.set(provider, storm);
    },
    async close() {
      await Promise.all([openai.close(), anthropic.close()]);
    },
  };
}

/**
 * The scripted fault of an op fault on a given attempt. Faults after content (cut, midstream,
 * drip) hit every attempt (there is at most one: a committed stream is never retried); faults
 * before content (stall before the first delta, a status, a refused connection) hit the first
 * attempt only, so the retry or fallback that follows answers.
 */
function opFault(asked: OpFault, attemptNo: number, stream: boolean): Fault | undefined {
  switch (asked) {
    case "cut":
      return stream ? { kind: "cut" } : undefined;
    case "midstream":
      return stream ? { kind: "mid_stream_error" } : undefined;
    case "drip":
      return stream ? { kind: "slow_drip", delayMs: 150 } : undefined;
    case "stall":
      return stream && attemptNo === 1 ? { kind: "stall_after_first_chunk" } : undefined;
    case "s503":
      return attemptNo === 1 ? { kind: "status", status: 503 } : undefined;
    case "s429":
      return attemptNo === 1 ? { kind: "status", status: 429, retryAfterMs: 50 } : undefined;
    case "refuse":
      return attemptNo === 1 ? { kind: "refuse" } : undefined;
  }
}
