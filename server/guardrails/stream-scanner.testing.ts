import { isInertText } from "./deny-list-text.js";
import { createPlaceholders } from "./placeholders.js";
import type { CompiledPolicy } from "./policy.js";
import { createStreamScanner } from "./stream-scanner.js";

/** `text` cut at the given positions (each taken mod `text.length + 1`); empty pieces kept. */
export function pieces(text: string, cuts: number[]): string[] {
  const at = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
  const out: string[] = [];
  let prev = 0;
  for (const c of [...at, text.length]) {
    out.push(text.slice(prev, c));
    prev = c;
  }
  return out;
}

/**
 * Streams `chunks` through a fresh output scanner: what was sent, what had been seen and sent after
 * each push (and whether that chunk was inert — whitespace, ignorables and marks alone — which a
 * deny-list scanner holds unscanned), and the block, if any.
 */
export async function scanChunks(policies: readonly CompiledPolicy[], chunks: readonly string[]) {
  const scanner = createStreamScanner(policies, "output", createPlaceholders());
  let sent = "";
  const afterPush: Array<{ seen: string; sent: string; blank: boolean }> = [];
  for (const piece of chunks) {
    const step = await scanner.push(piece);
    if (step.blocked !== undefined) return { sent, afterPush, blocked: step.blocked };
    sent += step.text;
    afterPush.push({ seen: scanner.seen, sent, blank: isInertText(piece) });
  }
  const rest = await scanner.flush();
  if (rest.blocked !== undefined) return { sent, afterPush, blocked: rest.blocked };
  return { sent: sent + rest.text, afterPush, blocked: undefined };
}
