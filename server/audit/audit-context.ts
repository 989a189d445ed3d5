import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import { kAuditNote } from "../interceptors/context-keys.js";

/** A resource as it was or is: a message and its schema, masked only when recorded. */
export interface AuditSnapshot {
  schema: DescMessage;
  message: unknown;
}

/** What a handler tells the audit log about its mutation. Every field optional. */
export interface AuditNote {
  /** Resource name acted on (default: derived from the request and response). */
  resource?: string;
  /** The org the resource belongs to, by internal id, when the handler knows it (default: from `resource`). */
  orgId?: string | null;
  /** The resource before the change (none for a create). */
  before?: AuditSnapshot;
  /** The resource after the change (none for a delete; default: the response). */
  after?: AuditSnapshot;
}

/** A typed {@link AuditSnapshot}. */
export function auditSnapshot<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): AuditSnapshot {
  return { schema, message };
}

/**
 * Tells the audit interceptor about this call's mutation; later notes add to (and override)
 * earlier ones. A handler calls it once it knows the before state, and again with the after
 * state. Sensitive fields are masked when the event is recorded, from the schema's
 * `(switchboard.v1.sensitive)` option, so handlers pass whole messages. Harmless when the call
 * does not run under the audit interceptor (unit tests of a service alone): nothing reads it.
 */
export function noteAudit(ctx: HandlerContext, note: AuditNote): void {
  const current = ctx.values.get(kAuditNote);
  ctx.values.set(kAuditNote, { ...current, ...note });
}
