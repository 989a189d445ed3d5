/** A credential's resource name, split: `orgName` null for a global credential. */
export interface CredentialRef {
  orgName: string | null;
  /** The `{credential}` segment. */
  id: string;
}

const SEGMENT = "[a-z0-9][a-z0-9-]{0,62}";
const NAME = new RegExp(`^(?:orgs/(${SEGMENT})/)?credentials/(${SEGMENT})$`);

/** `credentials/{id}` or `orgs/{org}/credentials/{id}` → its parts; `undefined` for anything else. */
export function parseCredentialName(name: string): CredentialRef | undefined {
  const match = NAME.exec(name);
  if (match === null) return undefined;
  return { orgName: match[1] ?? null, id: match[2]! };
}

/** The resource name of a credential. */
export function credentialName(ref: CredentialRef): string {
  return ref.orgName === null ? `credentials/${ref.id}` : `orgs/${ref.orgName}/credentials/${ref.id}`;
}

/**
 * Whether a route of org `routeOrgName` (null: a global route) may use the credential `name`: a
 * global route only global credentials, an org's route global ones and its own org's. Without
 * this rule a route could spend another org's provider key.
 */
export function credentialUsableBy(name: string, routeOrgName: string | null): boolean {
  const ref = parseCredentialName(name);
  if (ref === undefined) return false;
  return ref.orgName === null || ref.orgName === routeOrgName;
}
