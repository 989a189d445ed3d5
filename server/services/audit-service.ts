import { create, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { AuditEventSchema, AuditOutcome, AuditService, type AuditEvent } from "../../gen/ts/switchboard/v1/audit_service_pb.js";
import type { AuditLog } from "../audit/audit-log.js";
import { verifyCheckpoints } from "../audit/checkpoint.js";
import { orgScopeOf, requirePlatformAdmin } from "../auth/access.js";
import { isPlatformAdmin } from "../auth/principal.js";
import { fieldViolation } from "../errors/field-violation.js";
import type { Logger } from "../observability/logger.js";
import type { AuditEvent as StoredEvent, AuditFilter, AuditOutcomeName } from "../store/audit-store.js";
import type { TenantStore } from "../store/tenant-store.js";
import { checkpointMessage, checkpointOf, checkpointStatusMessage } from "./audit-checkpoint-messages.js";
import { callerOf } from "./caller.js";
import { invalidPageToken, isPagePosition, nextPageToken, pageRequest } from "./page-token.js";
import { parseOrgName } from "./resource-names.js";
import { checkedTimestamp } from "./timestamp-field.js";

/** Dependencies of {@link createAuditService}. */
export interface AuditServiceDeps {
  audit: Pick<AuditLog, "store" | "verify">;
  tenants: Pick<TenantStore, "getOrg">;
  logger: Logger;
  /** Checks the signatures of checkpoints passed to `VerifyAuditChain` (`checkpointSigningKey(pepper)`); absent: not checked. */
  checkpointKey?: Buffer;
}

/** `page_size` 0 means this many (the schema's documented default for audit events). */
const DEFAULT_PAGE_SIZE = 100;

const OUTCOME_NAMES: Record<AuditOutcomeName, AuditOutcome> = {
  success: AuditOutcome.SUCCESS,
  denied: AuditOutcome.DENIED,
  failure: AuditOutcome.FAILURE,
};

/**
 * `switchboard.v1.AuditService`. `ListAuditEvents` with `parent: orgs/{org}` returns the events
 * about that org's resources and those made by its keys (for a caller below the platform, of the
 * latter only the refused and failed ones about anything else: a platform-admin key's changes to
 * another org are that org's); an empty parent (every event,
 * unauthenticated attempts included) and `VerifyAuditChain` (the chain spans every org) need
 * `SCOPE_PLATFORM_ADMIN`. Another org is `NotFound`, as everywhere. `VerifyAuditChain` with
 * `checkpoints` also checks the chain against heads exported earlier (`checkpoint-exporter.ts`),
 * which is what finds a tail cut off or rewritten together with the chain-head row.
 */
export function createAuditService(deps: AuditServiceDeps): ServiceImpl<typeof AuditService> {
  return {
    async listAuditEvents(req, ctx) {
      const caller = callerOf(ctx);
      const filter: AuditFilter = {};
      if (req.parent === "") {
        requirePlatformAdmin(caller, "listing the audit events of every org (empty parent)");
      } else {
        const org = await deps.tenants.getOrg(parseOrgName(req.parent, "parent"), orgScopeOf(caller));
        if (org === undefined) throw new ConnectError(`${req.parent} not found`, Code.NotFound);
        filter.orgId = org.id;
        // A platform-admin key's changes to other orgs are theirs: below the platform, an org sees
        // its keys' doings elsewhere only as refusals and failures (their own requests).
        if (!isPlatformAdmin(caller)) filter.elsewhereUnsuccessfulOnly = true;
      }
      if (req.actor !== "") filter.actor = req.actor;
      if (req.action !== "") filter.action = req.action;
      if (req.resourcePrefix !== "") filter.resourcePrefix = req.resourcePrefix;
      if (req.startTime !== undefined) filter.startTime = timestampDate(checkedTimestamp(req.startTime, "start_time"));
      if (req.endTime !== undefined) filter.endTime = timestampDate(checkedTimestamp(req.endTime, "end_time"));
      if (req.outcome !== AuditOutcome.UNSPECIFIED) {
        filter.outcome = (Object.keys(OUTCOME_NAMES) as AuditOutcomeName[]).find((k) => OUTCOME_NAMES[k] === req.outcome)!;
      }
      const query = JSON.stringify(["ListAuditEvents", req.parent, req.actor, req.action, req.resourcePrefix, filter.startTime, filter.endTime, req.outcome]);
      const page = pageRequest(req.pageSize > 0 ? req.pageSize : DEFAULT_PAGE_SIZE, req.pageToken, query);
      // 18 digits: every sequence fits Postgres's bigint (19 could overflow it).
      if (page.after !== undefined && !isPagePosition(page.after, 18)) throw invalidPageToken();
      const events = await deps.audit.store.list(filter, { limit: page.limit + 1, ...(page.after !== undefined ? { before: BigInt(page.after) } : {}) });
      const items = events.slice(0, page.limit);
      const more = events.length > page.limit ? items[items.length - 1]?.sequence.toString() : undefined;
      return { events: items.map(auditEventMessage), nextPageToken: nextPageToken(more, query) };
    },

    async verifyAuditChain(req, ctx) {
      requirePlatformAdmin(callerOf(ctx), "VerifyAuditChain (the chain spans every org)");
      if (req.startSequence > 0n && req.endSequence > 0n && req.startSequence > req.endSequence) {
        throw fieldViolation("start_sequence", "must not be after end_sequence", "verify_audit_chain.range");
      }
      const verdict = await deps.audit.verify(req.startSequence, req.endSequence);
      if (!verdict.intact) {
        deps.logger.error({ firstBroken: verdict.firstBroken.toString(), problem: verdict.problem }, "the audit chain is broken");
      }
      const checkpoints = req.checkpoints.length === 0 ? undefined : await verifyCheckpoints(deps.audit.store, req.checkpoints.map(checkpointOf), deps.checkpointKey);
      if (checkpoints !== undefined && checkpoints.status !== "matched") {
        deps.logger.error(
          { checkpoint: checkpoints.failed?.sequence.toString(), problem: checkpoints.status },
          "the audit chain does not match an exported checkpoint",
        );
      }
      return {
        intact: verdict.intact && (checkpoints === undefined || checkpoints.status === "matched"),
        checked: verdict.checked,
        firstBrokenSequence: verdict.firstBroken !== 0n || checkpoints?.failed === undefined ? verdict.firstBroken : firstBrokenAt(checkpoints.failed.sequence, checkpoints.status, verdict.headSequence),
        headHash: verdict.headHash,
        headSequence: verdict.headSequence,
        ...(checkpoints === undefined
          ? {}
          : {
              checkpointStatus: checkpointStatusMessage(checkpoints.status),
              checkpointsMatched: BigInt(checkpoints.matched),
              ...(checkpoints.failed === undefined ? {} : { failedCheckpoint: checkpointMessage(checkpoints.failed) }),
            }),
      };
    },
  };
}

/**
 * Where a chain that links but disagrees with a checkpoint is first known broken: past the head
 * for a cut tail (the first event that is gone), else the checkpoint itself (the chain was
 * rewritten at or before it).
 */
function firstBrokenAt(checkpoint: bigint, status: string, head: bigint): bigint {
  return status === "missing" && head + 1n < checkpoint ? head + 1n : checkpoint;
}

/** The API form of a stored event. */
export function auditEventMessage(event: StoredEvent): AuditEvent {
  return create(AuditEventSchema, {
    sequence: event.sequence,
    time: timestampFromDate(event.time),
    actor: event.actor,
    actorOrg: event.actorOrg,
    action: event.action,
    resource: event.resource,
    ...(event.before !== null ? { before: asObject(event.before) } : {}),
    ...(event.after !== null ? { after: asObject(event.after) } : {}),
    outcome: OUTCOME_NAMES[event.outcome],
    peer: event.peer,
    requestId: event.requestId,
    hash: event.hash,
    previousHash: event.previousHash,
  });
}

function asObject(value: JsonValue): JsonObject {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? value : { value };
}
