import { pollRefresh, serialRefresh } from "../../runtime/snapshot-refresh.js";
import type { PromptStore } from "../../store/prompt-store.js";
import type { PromptTemplateVersion } from "./prompt-template.js";
import { promptResourceName } from "./prompt-names.js";

/** A live template as the resolver sees it: where it lives, what it is attached to, its active version. */
export interface CatalogEntry {
  /** Internal id: a template re-created under the same name is a different entry. */
  id: string;
  /** Owning org's internal id; null for a global template. */
  orgId: string | null;
  /** Resource name (`prompts/{p}` or `orgs/{org}/prompts/{p}`). */
  name: string;
  verb: string;
  attachments: readonly string[];
  /** The active version, ready to render. */
  active: PromptTemplateVersion;
}

/** Options of {@link createTemplateCatalog}. */
export interface TemplateCatalogOptions {
  store: Pick<PromptStore, "fingerprint" | "loadActive">;
  /** How often to check for template changes (default 1 s): the bound on how stale a replica is. */
  pollMs?: number;
  /** Called when a poll fails; the last good snapshot keeps serving. */
  onError?: (err: unknown) => void;
}

/** An in-process snapshot of every live template and its active version that follows the database. */
export interface TemplateCatalog {
  /** The live template with this resource name. Synchronous: the hot path never waits on the database. */
  byName(name: string): CatalogEntry | undefined;
  /** The live templates for `verb` attached to `resource`, in creation order. */
  attached(verb: string, resource: string): readonly CatalogEntry[];
  /**
   * Reloads if anything changed. A call made while a reload runs waits for one more check after
   * it, so a caller that has just written sees its write.
   */
  refresh(): Promise<void>;
  close(): void;
}

interface Snapshot {
  byName: Map<string, CatalogEntry>;
  byAttachment: Map<string, CatalogEntry[]>;
}

const attachmentKey = (verb: string, resource: string) => `${verb}\u0000${resource}`;

/**
 * Creates a catalog that polls the templates' fingerprint every `pollMs` and reloads every live
 * template with its active version when it moved, so a version created, activated or rolled back
 * on any replica is rendered by every replica within one poll interval. A database outage keeps
 * the last snapshot serving (templates change rarely; refusing verbs because Postgres blinked
 * would be worse).
 */
export function createTemplateCatalog(opts: TemplateCatalogOptions): TemplateCatalog {
  const pollMs = opts.pollMs ?? 1_000;
  let snapshot: Snapshot = { byName: new Map(), byAttachment: new Map() };
  let seen: string | undefined;

  const reload = async () => {
    const fingerprint = await opts.store.fingerprint();
    if (fingerprint === seen) return;
    const next: Snapshot = { byName: new Map(), byAttachment: new Map() };
    for (const { template, version } of await opts.store.loadActive()) {
      const name = promptResourceName({ orgName: template.orgName, name: template.name });
      const entry: CatalogEntry = Object.freeze({
        id: template.id,
        orgId: template.orgId,
        name,
        verb: template.verb,
        attachments: Object.freeze([...template.attachments]),
        active: Object.freeze({ name, version: version.version, messages: Object.freeze(version.messages.map((m) => Object.freeze({ ...m }))) }),
      });
      next.byName.set(name, entry);
      for (const resource of new Set(template.attachments)) {
        const key = attachmentKey(template.verb, resource);
        next.byAttachment.set(key, [...(next.byAttachment.get(key) ?? []), entry]);
      }
    }
    snapshot = next;
    seen = fingerprint;
  };
  const refresh = serialRefresh(reload);
  const stop = pollRefresh(refresh, pollMs, opts.onError);

  return {
    byName: (name) => snapshot.byName.get(name),
    attached: (verb, resource) => snapshot.byAttachment.get(attachmentKey(verb, resource)) ?? [],
    refresh,
    close: stop,
  };
}
