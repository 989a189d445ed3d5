/**
 * Which orgs a query may touch: exactly one org (a tenant's caller) or every org (a platform
 * admin). Every tenancy read and write takes one, so isolation is a parameter the caller must
 * choose, never a filter it can forget.
 */
export type OrgScope = { readonly orgId: string } | { readonly allOrgs: true };

/** The one org a scope is limited to, or `undefined` for every org. */
export function scopedOrgId(scope: OrgScope): string | undefined {
  return "orgId" in scope ? scope.orgId : undefined;
}

/** One page request: rows after the internal id `after` (exclusive), at most `limit` of them. */
export interface PageRequest {
  after?: string;
  limit: number;
}

/** One page of rows, in internal-id (creation) order. */
export interface Page<T> {
  items: T[];
  /** Internal id to continue after; unset on the last page. */
  after?: string;
}

/**
 * Cuts a `limit + 1` query result into a page: the extra row only tells that more remain.
 */
export function toPage<Row extends { id: string }, T>(rows: readonly Row[], limit: number, map: (row: Row) => T): Page<T> {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items: items.map(map), ...(rows.length > limit && last ? { after: last.id } : {}) };
}
