import type { ConnectError } from "@connectrpc/connect";
import { fieldViolation } from "../errors/field-violation.js";

/** One resource-name segment: the ids the schema's validation rules allow. */
const SEGMENT = "[a-z0-9][a-z0-9-]{0,62}";
const ORG = new RegExp(`^orgs/(${SEGMENT})$`);
const TEAM = new RegExp(`^orgs/(${SEGMENT})/teams/(${SEGMENT})$`);
const TEAM_OR_ANY = new RegExp(`^orgs/(${SEGMENT})/teams/(${SEGMENT}|-)$`);
const KEY = new RegExp(`^orgs/(${SEGMENT})/teams/(${SEGMENT})/keys/(${SEGMENT})$`);

/** `InvalidArgument` on `field` (a `buf.validate.Violations` detail naming it, rule `resource_name.form`). */
function invalid(field: string, expected: string): ConnectError {
  return fieldViolation(field, `must be a resource name of the form ${expected}`, "resource_name.form");
}

/** `orgs/{org}` → `{org}`; `InvalidArgument` naming `field` otherwise. */
export function parseOrgName(name: string, field: string): string {
  const match = ORG.exec(name);
  if (match === null) throw invalid(field, "orgs/{org}");
  return match[1]!;
}

/** `orgs/{org}/teams/{team}` → its segments. */
export function parseTeamName(name: string, field: string): { orgName: string; teamName: string } {
  const match = TEAM.exec(name);
  if (match === null) throw invalid(field, "orgs/{org}/teams/{team}");
  return { orgName: match[1]!, teamName: match[2]! };
}

/** `orgs/{org}/teams/{team}` or `orgs/{org}/teams/-` (every team); `teamName` is unset for `-`. */
export function parseTeamParent(name: string, field: string): { orgName: string; teamName?: string } {
  const match = TEAM_OR_ANY.exec(name);
  if (match === null) throw invalid(field, "orgs/{org}/teams/{team} or orgs/{org}/teams/-");
  return match[2] === "-" ? { orgName: match[1]! } : { orgName: match[1]!, teamName: match[2]! };
}

/** `orgs/{org}/teams/{team}/keys/{key}` → its segments. */
export function parseKeyName(name: string, field: string): { orgName: string; teamName: string; name: string } {
  const match = KEY.exec(name);
  if (match === null) throw invalid(field, "orgs/{org}/teams/{team}/keys/{key}");
  return { orgName: match[1]!, teamName: match[2]!, name: match[3]! };
}
