import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { CacheMode, PromptCaching, ReasoningEffort, type RequestOptions } from "../../../gen/ts/switchboard/v1/common_pb.js";
import type { ReasoningEffort as ReasoningEffortName } from "../../providers/model.js";
import { durationMs } from "@bufbuild/protobuf/wkt";
import { AccessDenial, accessDenied, refusedRoute } from "../../auth/access-denial.js";
import { noReachableTarget, reachesSomeTarget } from "../../auth/allowed-models.js";
import { fieldViolation } from "../../errors/field-violation.js";
import type { Principal } from "../../auth/principal.js";
import { kRequestId } from "../../interceptors/context-keys.js";
import type { CacheModeName, VerbName } from "../../pipeline/model-call.js";
import type { TemplateResolver } from "../../verbs/templates/template-resolver.js";
import type { VerbCapabilities, VerbContext } from "../../verbs/verb-context.js";
import { withEndUser } from "../../verbs/end-user-tag.js";
import { storableText, UNSTORABLE_TEXT } from "../../store/storable-text.js";

const CACHE_MODES: Record<number, CacheModeName> = {
  [CacheMode.UNSPECIFIED]: "default",
  [CacheMode.BYPASS]: "bypass",
  [CacheMode.NO_STORE]: "no_store",
  [CacheMode.REFRESH]: "refresh",
};

/** The schema's efforts by name (UNSPECIFIED: none; validation refuses undefined values first). */
const REASONING_EFFORTS: Record<number, ReasoningEffortName> = {
  [ReasoningEffort.MINIMAL]: "minimal",
  [ReasoningEffort.LOW]: "low",
  [ReasoningEffort.MEDIUM]: "medium",
  [ReasoningEffort.HIGH]: "high",
};

/**
 * What the capability service needs to know about a route to shape a verb's calls, and the models
 * of its targets (for the key's `allowed_models`; absent: not checked here, dispatch still filters).
 */
export type RouteCapabilities = (alias: string, orgId: string) => (VerbCapabilities & { targetModels?: readonly string[] }) | undefined;

/** Defaults the caller did not set. */
export interface VerbContextDefaults {
  /** Route alias when the request names none. */
  route: string;
  /** Deadline when the caller set no timeout (ms). */
  timeoutMs: number;
}

/** Which verb a context is for, and who picks its prompt template. */
export interface VerbTemplates {
  verb: VerbName;
  resolver: TemplateResolver;
}

/**
 * Builds a verb's context from the common `RequestOptions`, the handler context (signal, deadline,
 * request id) and the caller: the key's allowed routes are enforced here (PermissionDenied, an
 * audited `AccessDenial`), and so are its allowed models when none of the route's targets is one
 * of them (refused before any model call or budget reservation; otherwise dispatch only considers
 * the targets it may reach), the key's tags merged under the request's, an unknown route is NotFound
 * before any model call, and the prompt template is resolved (the pinned one, else one attached
 * to the key, team, org or route, else none: the verb's built-in). Embed renders no template, so a pin on it is refused.
 */
export async function verbContextOf(
  options: RequestOptions | undefined,
  ctx: HandlerContext,
  principal: Principal,
  capabilities: RouteCapabilities,
  defaults: VerbContextDefaults,
  templates: VerbTemplates,
): Promise<VerbContext> {
  for (const [key, value] of Object.entries(options?.tags ?? {})) {
    if (!storableText(value)) throw fieldViolation(`options.tags[${JSON.stringify(key)}]`, UNSTORABLE_TEXT, "string.storable");
  }
  if (options?.endUser !== undefined && !storableText(options.endUser)) throw fieldViolation("options.end_user", UNSTORABLE_TEXT, "string.storable");
  const route = options?.route || defaults.route;
  if (principal.allowedRoutes.length > 0 && !principal.allowedRoutes.includes(route)) {
    throw accessDenied(`the calling key may not use route "${route}"`, new AccessDenial("route", refusedRoute(route)));
  }
  const found = capabilities(route, principal.orgId);
  if (found === undefined) throw new ConnectError(`route "${route}" is not defined`, Code.NotFound);
  const { targetModels, ...caps } = found;
  const allowedModels = principal.allowedModels.length > 0 ? principal.allowedModels : undefined;
  if (!reachesSomeTarget(principal, targetModels)) {
    throw noReachableTarget(route, principal.allowedModels);
  }
  const pinned = options?.prompt !== undefined && options.prompt.name !== "" ? { name: options.prompt.name, version: options.prompt.version } : undefined;
  if (templates.verb === "embed" && pinned !== undefined) {
    throw fieldViolation("options.prompt", "Embed renders no prompt template", "options.prompt.renders");
  }
  const template =
    templates.verb === "embed"
      ? undefined
      : await templates.resolver.resolve({ verb: templates.verb, caller: { orgId: principal.orgId, keyName: principal.keyName }, route, ...(pinned ? { pinned } : {}) });
  const timeoutMs = ctx.timeoutMs();
  const maxAge = options?.cache?.maxAge;
  return {
    route,
    requestId: ctx.values.get(kRequestId),
    signal: ctx.signal,
    deadline: Date.now() + (timeoutMs ?? defaults.timeoutMs),
    tags: withEndUser({ ...principal.tags, ...options?.tags }, options?.endUser),
    cache: { mode: CACHE_MODES[options?.cache?.mode ?? CacheMode.UNSPECIFIED] ?? "default", ...(maxAge ? { maxAgeMs: durationMs(maxAge) } : {}) },
    capabilities: caps,
    ...(template === undefined ? {} : { template }),
    caller: { orgId: principal.orgId, teamId: principal.teamId, keyId: principal.keyId },
    ...(allowedModels === undefined ? {} : { allowedModels }),
    generation: {
      ...(options?.maxOutputTokens === undefined ? {} : { maxOutputTokens: options.maxOutputTokens }),
      ...(options?.temperature === undefined ? {} : { temperature: options.temperature }),
      ...reasoningEffortOf(options?.reasoningEffort),
      ...(options?.promptCaching === PromptCaching.AUTO ? { promptCaching: "auto" as const } : {}),
    },
  };
}

function reasoningEffortOf(effort: ReasoningEffort | undefined): { reasoningEffort?: ReasoningEffortName } {
  const name = effort === undefined ? undefined : REASONING_EFFORTS[effort];
  return name === undefined ? {} : { reasoningEffort: name };
}
