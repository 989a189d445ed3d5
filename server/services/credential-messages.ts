import { createHash } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { CredentialSchema, type Credential } from "../../gen/ts/switchboard/v1/credential_service_pb.js";
import type { CredentialRecord, ValueFacts } from "../store/credential-store.js";
import { credentialName } from "../vault/credential-names.js";

/** Values shorter than this show no last four: four characters of a short value are most of it. */
const MIN_CHARS_FOR_LAST_FOUR = 12;

/**
 * The API form of a stored credential: metadata only. There is no field a value could travel in
 * (the schema has none), and this function never sees one.
 */
export function credentialMessage(record: CredentialRecord): Credential {
  return create(CredentialSchema, {
    name: credentialName({ orgName: record.orgName, id: record.name }),
    provider: record.provider,
    displayName: record.displayName,
    settings: { ...record.settings },
    fingerprint: record.fingerprint,
    lastFour: record.lastFour,
    createTime: timestampFromDate(record.createdAt),
    updateTime: timestampFromDate(record.updatedAt),
    masterKeyId: record.seal.masterKeyId,
  });
}

/**
 * What may be shown of a value: a fingerprint (the first 16 hex digits of its SHA-256: enough to
 * tell two values apart; a hash of a high-entropy API key reveals nothing of it) and its last four
 * characters (none for values under 12 characters, where four would be most of it).
 */
export function valueFacts(value: string): ValueFacts {
  return {
    fingerprint: createHash("sha256").update(value, "utf8").digest("hex").slice(0, 16),
    lastFour: value.length >= MIN_CHARS_FOR_LAST_FOUR ? value.slice(-4) : "",
  };
}
