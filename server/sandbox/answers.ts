/**
 * The sandbox's answers: short templated replies that quote the prompt, chosen by a generator
 * seeded from the sandbox seed, the model and the conversation, so the same prompt always gets
 * the same answer and different prompts usually get different ones.
 */
import { createRandom, hash32 } from "./seeded.js";

/** What an answer is composed from. */
export interface AnswerInput {
  /** The sandbox seed. */
  seed: number;
  model: string;
  verbosity: "brief" | "detailed";
  /** The last user message (directives removed). */
  prompt: string;
  /** Everything that identifies the conversation (all messages); equal keys give equal answers. */
  conversationKey: string;
  /** When the conversation ends with a tool's result: the tool's name (if known) and its output. */
  toolResult?: { name?: string; content: string };
}

const OPENERS: ReadonlyArray<(ref: string) => string> = [
  (ref) => `You asked: "${ref}".`,
  (ref) => `Regarding "${ref}":`,
  (ref) => `About "${ref}" —`,
  (ref) => `On "${ref}":`,
];

const CORES = [
  "the short answer is that it depends on your constraints, so start with the simplest option that works.",
  "a sensible first step is to write down what success looks like, then work backwards from it.",
  "there are a few reasonable options, and the most conservative one is usually right to begin with.",
  "break the problem into smaller steps and check each one before moving on.",
  "the evidence points one way, but it is worth confirming with a small experiment.",
  "this is a deterministic reply from the Switchboard sandbox, standing in for a real model.",
];

const DETAILS = [
  "First, clarify the goal and the constraints that matter most.",
  "Then compare two or three options on cost, latency and risk.",
  "Try the cheapest option on a small sample before committing to it.",
  "Keep notes of what you tried, so the next decision is faster.",
  "If the stakes are high, ask someone else to review the result.",
  "Finally, measure the outcome and adjust.",
];

const CLOSERS = [
  "In short: start small, measure, and iterate.",
  "That should be enough to get going.",
  "(Simulated by the Switchboard sandbox: no real model was called and nothing was billed.)",
];

/** The answer text for a conversation. */
export function composeAnswer(input: AnswerInput): string {
  const random = createRandom(hash32(input.conversationKey, hash32(input.model, input.seed)));
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const ref = quote(input.prompt);
  const parts: string[] = [];
  if (input.toolResult !== undefined) {
    const from = input.toolResult.name ?? "the tool";
    parts.push(`Based on ${from} (which returned ${quote(input.toolResult.content, 16)}), here is the answer to "${ref}":`, pick(CORES));
  } else {
    parts.push(pick(OPENERS)(ref), pick(CORES));
  }
  if (input.verbosity === "detailed") {
    // Three consecutive steps, so "First" never follows "Finally".
    const start = Math.floor(random() * (DETAILS.length - 2));
    parts.push(...DETAILS.slice(start, start + 3));
    parts.push(pick(CLOSERS));
  }
  return parts.join(" ");
}

/** The first `words` words of a text, with an ellipsis when cut; "your message" for an empty one. */
function quote(text: string, words = 12): string {
  const all = text.replaceAll('"', "'").split(/\s+/).filter((w) => w !== "");
  if (all.length === 0) return "your message";
  return all.length <= words ? all.join(" ") : `${all.slice(0, words).join(" ")}…`;
}
