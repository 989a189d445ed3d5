/** One resource-name segment (the ids the schema's validation rules allow). */
const SEGMENT = "[a-z0-9][a-z0-9-]{0,62}";
const PROMPT = new RegExp(`^(?:orgs/(${SEGMENT})/)?prompts/(${SEGMENT})$`);
const VERSION = new RegExp(`^((?:orgs/${SEGMENT}/)?prompts/${SEGMENT})/versions/([1-9][0-9]{0,8})$`);
const KEY = new RegExp(`^((orgs/${SEGMENT})/teams/${SEGMENT})/keys/${SEGMENT}$`);

/** A template's place: its org's resource-name segment (null: global) and its own id. */
export interface PromptRef {
  orgName: string | null;
  name: string;
}

/** `prompts/{prompt}` (global) or `orgs/{org}/prompts/{prompt}`. */
export function promptResourceName(ref: PromptRef): string {
  return ref.orgName === null ? `prompts/${ref.name}` : `orgs/${ref.orgName}/prompts/${ref.name}`;
}

/** The parts of a template resource name, or undefined when it is not one. */
export function parsePromptName(name: string): PromptRef | undefined {
  const match = PROMPT.exec(name);
  return match === null ? undefined : { orgName: match[1] ?? null, name: match[2]! };
}

/** The parts of a version resource name (`{template}/versions/{n}`), or undefined. */
export function parsePromptVersionName(name: string): (PromptRef & { version: number }) | undefined {
  const match = VERSION.exec(name);
  const template = match === null ? undefined : parsePromptName(match[1]!);
  return template === undefined ? undefined : { ...template, version: Number(match![2]) };
}

/**
 * The resource names a calling key's requests are attached through, most specific first: the key
 * (`orgs/{org}/teams/{team}/keys/{key}`), its team, its org. Undefined for a malformed key name.
 */
export function callerResourceNames(keyName: string): { key: string; team: string; org: string } | undefined {
  const match = KEY.exec(keyName);
  return match === null ? undefined : { key: keyName, team: match[1]!, org: match[2]! };
}

/** What a template attachment names: an org, a team, a key or a route (global when `orgName` is null). */
export type AttachmentRef =
  | { kind: "org"; orgName: string }
  | { kind: "team"; orgName: string; teamName: string }
  | { kind: "key"; orgName: string; teamName: string; keyName: string }
  | { kind: "route"; orgName: string | null; alias: string };

const ATTACHMENTS: readonly [RegExp, (m: RegExpExecArray) => AttachmentRef][] = [
  [new RegExp(`^orgs/(${SEGMENT})$`), (m) => ({ kind: "org", orgName: m[1]! })],
  [new RegExp(`^orgs/(${SEGMENT})/teams/(${SEGMENT})$`), (m) => ({ kind: "team", orgName: m[1]!, teamName: m[2]! })],
  [new RegExp(`^orgs/(${SEGMENT})/teams/(${SEGMENT})/keys/(${SEGMENT})$`), (m) => ({ kind: "key", orgName: m[1]!, teamName: m[2]!, keyName: m[3]! })],
  [/^(?:orgs\/([a-z0-9][a-z0-9-]{0,62})\/)?routes\/([a-z0-9][a-z0-9._-]{0,62})$/, (m) => ({ kind: "route", orgName: m[1] ?? null, alias: m[2]! })],
];

/**
 * The resource a template attachment names: `orgs/{org}`, `orgs/{org}/teams/{team}`,
 * `orgs/{org}/teams/{team}/keys/{key}`, `routes/{route}` or `orgs/{org}/routes/{route}`;
 * undefined for anything else.
 */
export function parseAttachment(name: string): AttachmentRef | undefined {
  for (const [pattern, build] of ATTACHMENTS) {
    const match = pattern.exec(name);
    if (match !== null) return build(match);
  }
  return undefined;
}
