import { createHash } from "node:crypto";
import type { RouteTarget } from "../dispatch/route-types.js";
import type { VerbName } from "../pipeline/model-call.js";
import type { EmbedRequest, ModelRequest } from "../providers/model.js";
import { canonicalJson } from "./canonical-json.js";
import { withoutPromptCacheMarks } from "./prompt-cache-marks.js";

/** Version of the key derivation: bump it to orphan every entry written by an older layout. */
export const CACHE_KEY_VERSION = 1;

/** Everything that shapes a cached answer (RELIABILITY P17, §3.4). */
export interface CacheKeyInput {
  /** The tenant: the calling key's org id. Entries of different orgs never share a key. */
  orgId: string;
  verb: VerbName;
  /** A chat completion or an embeddings call (their requests never collide). */
  kind: "chat" | "embed";
  /** The neutral request; its `model` is ignored (the route's targets decide the model). */
  request: ModelRequest | EmbedRequest;
  /** The prompt template that rendered the request, if any. */
  template?: { name: string; version: number } | undefined;
  /** The route alias and the targets it resolved to for this org. */
  route: { alias: string; targets: readonly RouteTarget[] };
}

/**
 * The exact-cache key: SHA-256, lowercase hex, over a canonical encoding of the tenant, verb, the
 * whole neutral request but its `model` (messages with their roles, names, tool calls and
 * `tool_call_id`s, image parts, tools, tool choice, response format, max tokens, temperature,
 * top_p, stop, seed, parallel tool calls, frequency and presence penalties, logit bias, reasoning
 * effort — or an embedding's inputs, dimensions and input type),
 * the template name and version, and the route alias with every target's provider, model,
 * provider params (an Azure deployment), weight and priority. Whether the call streams is
 * transport, not content, so a streamed call and a unary one share their entry.
 *
 * Credentials and timeouts are left out: they decide whether an answer arrives, not what it says.
 * So are prompt-cache breakpoints and the prompt-caching mode (`withoutPromptCacheMarks`): they
 * decide what a provider call costs, not what it answers.
 */
export function exactCacheKey(input: CacheKeyInput): string {
  const { model: _model, ...request } = input.kind === "chat" ? withoutPromptCacheMarks(input.request as ModelRequest) : input.request;
  // Keys in code-unit order, so canonicalJson takes these objects as they are.
  const material = canonicalJson({
    kind: input.kind,
    org: input.orgId,
    request,
    route: { alias: input.route.alias, targets: keyedTargets(input.route.targets) },
    template: input.template === undefined ? null : { name: input.template.name, version: input.template.version },
    v: CACHE_KEY_VERSION,
    verb: input.verb,
  });
  return createHash("sha256").update(material).digest("hex");
}

/** What of a route's targets enters the key, made once per resolved target list (the resolver keeps it until the routes change). */
const targetsMemo = new WeakMap<readonly RouteTarget[], readonly object[]>();

function keyedTargets(targets: readonly RouteTarget[]): readonly object[] {
  let keyed = targetsMemo.get(targets);
  if (keyed === undefined) {
    keyed = targets.map((t) => ({ model: t.model, params: t.params, priority: t.priority, provider: t.provider, weight: t.weight }));
    targetsMemo.set(targets, keyed);
  }
  return keyed;
}
