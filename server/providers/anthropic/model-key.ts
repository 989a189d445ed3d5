/**
 * A Claude model id read as its family and version — the key of the per-model rules the request
 * mapping consults (`thinking-models.ts`, `sampling-models.ts`), parsed here once so the rules
 * cannot disagree on what an id names. Aliases and dated snapshots of one model read alike
 * (`claude-sonnet-4-5` and `claude-sonnet-4-5-20250929` are "sonnet 4.5"); an id in neither
 * naming scheme (a model of another vendor behind an Anthropic-compatible API, a name of the
 * caller's) reads as nothing, and every rule treats it as a model it does not know.
 */

/** A Claude model: its family, its version (none for a preview named without one), and both as "family major.minor" or "family preview". */
export interface ClaudeModel {
  family: string;
  version?: { major: number; minor: number };
  key: string;
}

/** `claude-3-7-sonnet-20250219`, `claude-3-5-haiku-latest`: the version before the family. */
const VERSION_FIRST = /^claude-(\d+)(?:-(\d))?-(sonnet|opus|haiku)(?:-(?:\d{8}|latest))?$/;
/** `claude-sonnet-4-20250514`, `claude-sonnet-4-0`, `claude-opus-4-7`, `claude-fable-5-1`: the family first (Claude 4 on). */
const FAMILY_FIRST = /^claude-(sonnet|opus|haiku|fable|mythos)-(\d+)(?:-(\d))?(?:-(?:\d{8}|latest))?$/;
/** `claude-mythos-preview`: a preview named without a version. */
const PREVIEW = /^claude-(mythos)-preview(?:-\d{8})?$/;

/** The Claude model an id (an alias or a dated snapshot) names, or undefined for an id not named as Claude's are. */
export function parseClaudeModel(model: string): ClaudeModel | undefined {
  const id = model.trim().toLowerCase();
  const v = VERSION_FIRST.exec(id);
  if (v !== null) return versioned(v[3]!, v[1]!, v[2]);
  const f = FAMILY_FIRST.exec(id);
  if (f !== null) return versioned(f[1]!, f[2]!, f[3]);
  const p = PREVIEW.exec(id);
  return p === null ? undefined : { family: p[1]!, key: `${p[1]} preview` };
}

function versioned(family: string, major: string, minor: string | undefined): ClaudeModel {
  const version = { major: Number(major), minor: Number(minor ?? "0") };
  return { family, version, key: `${family} ${version.major}.${version.minor}` };
}
