import { Code, ConnectError } from "@connectrpc/connect";
import { CapabilityMissingSchema } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import type { EmbedRequest, ModelRequest } from "../providers/model.js";
import type { Provider, ProviderCapabilities } from "../providers/provider.js";
import type { ResolvedRoute, RouteTarget } from "./route-types.js";

/** A capability a target may declare (the keys of `ProviderCapabilities`). */
export type Capability = keyof ProviderCapabilities;

/** The dispatch operations. */
export type DispatchOp = "chat" | "chatStream" | "embed";

/** How a capability is named in the `CapabilityMissing` detail (the proto's snake_case). */
const WIRE_NAME: Record<Capability, string> = {
  streaming: "streaming",
  tools: "tools",
  parallelToolCalls: "parallel_tool_calls",
  jsonSchema: "json_schema",
  jsonObject: "json_object",
  vision: "vision",
  embeddings: "embeddings",
};

/**
 * The capabilities a target needs to serve `req` through `op`, derived from the request alone:
 * streaming for `chatStream`, embeddings for `embed`; tools, parallel tool calls, JSON schema or
 * JSON object output, and image input when the request uses them.
 */
export function requiredCapabilities(req: ModelRequest | EmbedRequest, op: DispatchOp): Capability[] {
  if (op === "embed") return ["embeddings"];
  const chat = req as ModelRequest;
  const out: Capability[] = [];
  if (op === "chatStream") out.push("streaming");
  if ((chat.tools?.length ?? 0) > 0) out.push("tools");
  if (chat.parallelToolCalls === true) out.push("parallelToolCalls");
  if (chat.responseFormat?.type === "json_schema") out.push("jsonSchema");
  if (chat.responseFormat?.type === "json_object") out.push("jsonObject");
  if (chat.messages.some((m) => m.content.some((p) => p.type === "image"))) out.push("vision");
  return out;
}

/** A target that can serve the request, with its position in the route and its adapter. */
export interface Candidate {
  target: RouteTarget;
  /** Index of the target within `route.targets`. */
  targetIndex: number;
  provider: Provider;
}

/**
 * The route's targets that can serve a request needing `required`, in route order. Targets whose
 * provider kind is not registered are left out too. Throws `FailedPrecondition` with a
 * `CapabilityMissing` detail when capabilities rule out every target, and `Internal` when no
 * target has a registered provider at all (a route the RouteService should have refused).
 */
export function capableTargets(
  route: ResolvedRoute,
  required: readonly Capability[],
  providerOf: (kind: string) => Provider | undefined,
): Candidate[] {
  const usable: Candidate[] = [];
  const missing = new Set<Capability>();
  const ruledOut: string[] = [];
  route.targets.forEach((target, targetIndex) => {
    const provider = providerOf(target.provider);
    if (!provider) return;
    const lacks = required.filter((c) => !provider.capabilities[c]);
    if (lacks.length === 0) {
      usable.push({ target, targetIndex, provider });
      return;
    }
    lacks.forEach((c) => missing.add(c));
    ruledOut.push(`${target.provider}/${target.model}`);
  });
  if (usable.length > 0) return usable;
  if (ruledOut.length === 0) {
    throw new ConnectError(`route "${route.alias}" has no target with a registered provider`, Code.Internal);
  }
  const names = required.filter((c) => missing.has(c)).map((c) => WIRE_NAME[c]);
  throw new ConnectError(
    `no target of route "${route.alias}" supports ${names.join(", ")}`,
    Code.FailedPrecondition,
    undefined,
    [{ desc: CapabilityMissingSchema, value: { capabilities: names, route: route.alias, targets: ruledOut } }],
  );
}
