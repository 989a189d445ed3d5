import type { ModelContentPart, ModelMessage, ModelRequest, ModelTool } from "../providers/model.js";

/**
 * The request as the response cache keys it: without prompt-cache breakpoints
 * (`cacheBreakpoint` on parts and tools) and without `promptCaching`. They ask a provider to cache
 * a prompt prefix, which changes what the provider call costs but never what the model answers,
 * so a request with marks and the same one without share their entries (exact and semantic): a
 * hit makes no provider call at all, cheaper than any provider-side cache read. The request itself
 * is left as it is (the provider still gets the marks); it is returned unchanged, not copied, when
 * it holds none, which is every request that does not use prompt caching.
 */
export function withoutPromptCacheMarks(request: ModelRequest): ModelRequest {
  if (!hasMarks(request)) return request;
  const { promptCaching: _mode, ...rest } = request;
  return {
    ...rest,
    messages: request.messages.map(unmarkedMessage),
    ...(request.tools === undefined ? {} : { tools: request.tools.map(unmarkedTool) }),
  };
}

function hasMarks(request: ModelRequest): boolean {
  if (request.promptCaching !== undefined) return true;
  if (request.tools?.some((t) => t.cacheBreakpoint !== undefined) === true) return true;
  for (const m of request.messages) for (const p of m.content) if (p.cacheBreakpoint !== undefined) return true;
  return false;
}

function unmarkedMessage(m: ModelMessage): ModelMessage {
  return m.content.some((p) => p.cacheBreakpoint !== undefined) ? { ...m, content: m.content.map(unmarkedPart) } : m;
}

function unmarkedPart(p: ModelContentPart): ModelContentPart {
  if (p.cacheBreakpoint === undefined) return p;
  const { cacheBreakpoint: _mark, ...rest } = p;
  return rest;
}

function unmarkedTool(t: ModelTool): ModelTool {
  if (t.cacheBreakpoint === undefined) return t;
  const { cacheBreakpoint: _mark, ...rest } = t;
  return rest;
}
