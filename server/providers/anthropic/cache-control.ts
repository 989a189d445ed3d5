/**
 * Prompt-cache breakpoints on the Messages API. Anthropic caches only a prompt prefix that ends at
 * a block (or tool definition) carrying `cache_control: {"type": "ephemeral"}`, in prompt order:
 * `tools`, then `system`, then `messages`. On a later request the longest cached prefix that still
 * matches is read (billed at 0.1x the input rate) and the rest up to the last breakpoint is written
 * (1.25x). A prefix shorter than the model's minimum (1,024 to 4,096 tokens) is silently not cached;
 * the gateway sends the marks anyway and leaves that rule to Anthropic.
 *
 * Only the default 5-minute TTL is sent. The 1-hour TTL (`"ttl": "1h"`) writes at 2x the input
 * rate, and the price table has one cache-write rate per model (the 5-minute one): a 1-hour write
 * would be under-billed, so it is never asked for.
 *
 * More than 4 breakpoints is a 400 from Anthropic ("A maximum of 4 blocks with cache_control may
 * be provided"). Rather than refuse the call — the marks are hints that never change the answer,
 * the same request is valid on every other provider of a route, and AUTO adds its own to the
 * caller's — the gateway keeps the last 4 in prompt order: a later breakpoint covers a longer
 * prefix (everything an earlier one covers and more), and Anthropic's lookback (about 20 blocks
 * before each breakpoint) still finds entries written at earlier positions.
 */
import type { PromptCachingMode } from "../model.js";
import type { WireCacheControl, WireRequest } from "./wire.js";

/** Anthropic's limit on blocks with `cache_control` in one request. */
export const MAX_CACHE_BREAKPOINTS = 4;

/** A fresh breakpoint (default TTL). */
function ephemeral(): WireCacheControl {
  return { type: "ephemeral" };
}

/** `{cache_control}` to spread into a block or tool when `marked`, else nothing. */
export function cacheMark(marked: boolean | undefined): { cache_control?: WireCacheControl } {
  return marked === true ? { cache_control: ephemeral() } : {};
}

/** Something a breakpoint can sit on. */
type Markable = { cache_control?: WireCacheControl };

/**
 * Adds AUTO's breakpoints to `body` and caps the total at {@link MAX_CACHE_BREAKPOINTS}, keeping the
 * last ones in prompt order. AUTO follows Anthropic's recipe for conversations: the last tool
 * definition (tools change least), the last system block, the last block of the final message
 * (written now, for the next turn to read) and the last block of the user turn before it (where
 * the previous turn wrote: read now). Mutates `body`.
 */
export function placeCacheBreakpoints(body: WireRequest, mode: PromptCachingMode | undefined): void {
  if (mode === "auto") {
    mark(body.tools?.at(-1));
    mark(body.system?.at(-1));
    const last = body.messages.length - 1;
    mark(body.messages[last]?.content.at(-1));
    for (let i = last - 1; i >= 0; i--) {
      const turn = body.messages[i]!;
      if (turn.role !== "user") continue;
      mark(turn.content.at(-1));
      break;
    }
  }
  const marked: Markable[] = [];
  const collect = (item: Markable) => {
    if (item.cache_control !== undefined) marked.push(item);
  };
  body.tools?.forEach(collect);
  body.system?.forEach(collect);
  for (const turn of body.messages) turn.content.forEach(collect);
  for (const item of marked.slice(0, Math.max(0, marked.length - MAX_CACHE_BREAKPOINTS))) delete item.cache_control;
}

function mark(item: Markable | undefined): void {
  if (item !== undefined && item.cache_control === undefined) item.cache_control = ephemeral();
}
