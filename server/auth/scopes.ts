import { Scope, ScopeSchema } from "../../gen/ts/switchboard/v1/options_pb.js";

/**
 * Every grantable scope: all values of `switchboard.v1.Scope` but `SCOPE_UNSPECIFIED`. The
 * bootstrap key holds all of them.
 */
export const ALL_SCOPES: readonly Scope[] = ScopeSchema.values
  .map((value) => value.number as Scope)
  .filter((scope) => scope !== Scope.UNSPECIFIED);

/** The schema's name of a scope (`SCOPE_INVOKE`): the form stored in the database and shown in errors. */
export function scopeName(scope: Scope): string {
  return ScopeSchema.value[scope]?.name ?? `SCOPE_${String(scope)}`;
}

/**
 * The scope with this schema name, or `undefined` for a name this build does not know (a row
 * written by a newer version): unknown scopes grant nothing.
 */
export function scopeFromName(name: string): Scope | undefined {
  const value = ScopeSchema.values.find((v) => v.name === name);
  return value === undefined || value.number === Scope.UNSPECIFIED ? undefined : (value.number as Scope);
}
