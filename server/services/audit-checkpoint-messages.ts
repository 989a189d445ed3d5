import { create } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { AuditCheckpointSchema, AuditCheckpointStatus, type AuditCheckpoint as CheckpointMessage } from "../../gen/ts/switchboard/v1/audit_service_pb.js";
import type { AuditCheckpoint, CheckpointStatus } from "../audit/checkpoint.js";

const STATUS: Record<CheckpointStatus, AuditCheckpointStatus> = {
  matched: AuditCheckpointStatus.MATCHED,
  missing: AuditCheckpointStatus.MISSING,
  mismatch: AuditCheckpointStatus.MISMATCH,
  bad_signature: AuditCheckpointStatus.BAD_SIGNATURE,
};

/** The API's `AuditCheckpointStatus` of a verdict. */
export function checkpointStatusMessage(status: CheckpointStatus): AuditCheckpointStatus {
  return STATUS[status];
}

/** A checkpoint as the request carries it; an unset time is the epoch (it then fails a signature check). */
export function checkpointOf(message: CheckpointMessage): AuditCheckpoint {
  return {
    sequence: message.sequence,
    hash: message.hash,
    time: message.time === undefined ? new Date(0) : timestampDate(message.time),
    replica: message.replica,
    signature: message.signature,
  };
}

/** The API form of a checkpoint. */
export function checkpointMessage(checkpoint: AuditCheckpoint): CheckpointMessage {
  return create(AuditCheckpointSchema, {
    sequence: checkpoint.sequence,
    hash: checkpoint.hash,
    time: timestampFromDate(checkpoint.time),
    replica: checkpoint.replica,
    signature: checkpoint.signature,
  });
}
