import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { OrgSchema, TeamSchema, type Org, type Team } from "../../gen/ts/switchboard/v1/tenant_service_pb.js";
import type { OrgRecord, TeamRecord } from "../store/tenant-store.js";

/** The API form of a stored org; internal ids never leave the gateway. */
export function orgMessage(org: OrgRecord): Org {
  return create(OrgSchema, {
    name: `orgs/${org.name}`,
    displayName: org.displayName,
    labels: { ...org.labels },
    createTime: timestampFromDate(org.createdAt),
    updateTime: timestampFromDate(org.updatedAt),
  });
}

/** The API form of a stored team. */
export function teamMessage(team: TeamRecord): Team {
  return create(TeamSchema, {
    name: `orgs/${team.orgName}/teams/${team.name}`,
    displayName: team.displayName,
    labels: { ...team.labels },
    createTime: timestampFromDate(team.createdAt),
    updateTime: timestampFromDate(team.updatedAt),
  });
}
