import { Code, ConnectError } from "@connectrpc/connect";
import { databaseUnavailable } from "../../errors/database-unavailable.js";
import { fieldViolation } from "../../errors/field-violation.js";
import type { PromptStore } from "../../store/prompt-store.js";
import type { PromptTemplateVersion } from "./prompt-template.js";
import { callerResourceNames } from "./prompt-names.js";
import type { CatalogEntry, TemplateCatalog } from "./template-catalog.js";
import type { TemplateVerb } from "./verb-template-rules.js";

/** One verb call's question to the resolver. */
export interface TemplateRequest {
  verb: TemplateVerb;
  /** The calling key: its org's internal id and its resource name (`orgs/{org}/teams/{team}/keys/{key}`). */
  caller: { orgId: string; keyName: string };
  /** The route alias serving the call. */
  route: string;
  /** The request's `options.prompt`, when it names a template (version 0: the active one). */
  pinned?: { name: string; version: number };
}

/** Picks the prompt template a verb call renders. */
export interface TemplateResolver {
  /**
   * The template version for `request`, or undefined for the verb's built-in. A pinned template
   * that the caller cannot see (absent, deleted, another org's) is NotFound; one written for
   * another verb is InvalidArgument.
   */
  resolve(request: TemplateRequest): Promise<PromptTemplateVersion | undefined>;
}

/** Options of {@link createTemplateResolver}. */
export interface TemplateResolverOptions {
  catalog: Pick<TemplateCatalog, "byName" | "attached">;
  /** Where pinned versions other than the active one are read (once each: versions are immutable). */
  store: Pick<PromptStore, "versionOf">;
  /** How many pinned versions to keep in memory (default 1000). */
  pinnedCacheSize?: number;
}

/**
 * Creates the resolver. The order, first match wins:
 * 1. the request's pinned template — the caller's org's or a global one — at the pinned version,
 *    or its active version when the pin says 0;
 * 2. a template for the verb attached to the calling key, else its team, else its org, else the
 *    route (the org's route name `orgs/{org}/routes/{alias}`, then the global `routes/{alias}`),
 *    at its active version; on one level the org's own template wins over a global one;
 * 3. undefined: the verb's built-in.
 * Active versions come from the catalog's snapshot, so resolution never waits on the database
 * except for the first use of a pinned older version.
 */
export function createTemplateResolver(opts: TemplateResolverOptions): TemplateResolver {
  const limit = opts.pinnedCacheSize ?? 1000;
  const pinned = new Map<string, PromptTemplateVersion>();
  const visible = (entry: CatalogEntry, orgId: string) => entry.orgId === null || entry.orgId === orgId;

  const pinnedVersion = async (entry: CatalogEntry, version: number): Promise<PromptTemplateVersion> => {
    if (version === 0 || version === entry.active.version) return entry.active;
    const key = `${entry.id}@${version}`;
    const cached = pinned.get(key);
    if (cached !== undefined) return cached;
    // Not cached yet and the database cannot answer: the caller retries (P8), never an Internal.
    const record = await opts.store.versionOf(entry.id, version).catch((err: unknown) => {
      throw databaseUnavailable(err) ?? err;
    });
    if (record === undefined) throw new ConnectError(`prompt template ${entry.name} has no version ${version}`, Code.NotFound);
    const loaded: PromptTemplateVersion = Object.freeze({ name: entry.name, version, messages: Object.freeze(record.messages.map((m) => Object.freeze({ ...m }))) });
    if (pinned.size >= limit) pinned.delete(pinned.keys().next().value!);
    pinned.set(key, loaded);
    return loaded;
  };

  const attached = (request: TemplateRequest): CatalogEntry | undefined => {
    const names = callerResourceNames(request.caller.keyName);
    const own = names === undefined ? [] : [names.key, names.team, names.org, `${names.org}/routes/${request.route}`];
    const levels = [...own, `routes/${request.route}`];
    for (const resource of levels) {
      const candidates = opts.catalog.attached(request.verb, resource).filter((e) => visible(e, request.caller.orgId));
      const chosen = candidates.find((e) => e.orgId !== null) ?? candidates[0];
      if (chosen !== undefined) return chosen;
    }
    return undefined;
  };

  return {
    async resolve(request) {
      if (request.pinned !== undefined) {
        const entry = opts.catalog.byName(request.pinned.name);
        if (entry === undefined || !visible(entry, request.caller.orgId)) {
          throw new ConnectError(`prompt template ${request.pinned.name} not found`, Code.NotFound);
        }
        if (entry.verb !== request.verb) {
          throw fieldViolation("options.prompt", `${entry.name} is a ${entry.verb} template and cannot render ${request.verb}`, "options.prompt.verb");
        }
        return pinnedVersion(entry, request.pinned.version);
      }
      return attached(request)?.active;
    },
  };
}
