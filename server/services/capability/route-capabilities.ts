import type { ResolvedRoute } from "../../dispatch/route-types.js";
import type { ProviderCapabilities } from "../../providers/provider.js";
import type { VerbCapabilities } from "../../verbs/verb-context.js";

/**
 * What a verb's prompt may rely on for a route: native JSON Schema only when every target's
 * provider enforces it, and as context window the smallest `contextWindowTokens` among the targets
 * that declare one, so Summarize sizes its chunks for whichever target ends up answering (a
 * fallback with a smaller window included). Targets that declare none do not count, as in
 * dispatch's own window check; when none declares one the verb uses its default (8,192 tokens).
 */
export function routeCapabilities(
  route: Pick<ResolvedRoute, "targets">,
  capabilitiesOf: (kind: string) => Readonly<ProviderCapabilities> | undefined,
): VerbCapabilities {
  const jsonSchema = route.targets.every((t) => capabilitiesOf(t.provider)?.jsonSchema === true);
  const windows = route.targets.flatMap((t) => (t.contextWindowTokens === undefined ? [] : [t.contextWindowTokens]));
  return windows.length === 0 ? { jsonSchema } : { jsonSchema, contextTokens: Math.min(...windows) };
}
