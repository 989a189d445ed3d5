import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { Verb } from "../../gen/ts/switchboard/v1/common_pb.js";
import {
  PromptTemplateSchema,
  PromptVersionSchema,
  type PromptTemplate,
  type PromptVersion,
} from "../../gen/ts/switchboard/v1/prompt_service_pb.js";
import type { PromptTemplateRecord, PromptVersionRecord } from "../store/prompt-store.js";
import type { TemplateRole } from "../verbs/templates/prompt-template.js";
import { promptResourceName } from "../verbs/templates/prompt-names.js";
import type { TemplateVerb } from "../verbs/templates/verb-template-rules.js";

const VERBS: Readonly<Record<TemplateVerb, Verb>> = {
  summarize: Verb.SUMMARIZE,
  classify: Verb.CLASSIFY,
  extract: Verb.EXTRACT,
  answer: Verb.ANSWER,
  chat: Verb.CHAT,
};

const ROLES: Readonly<Record<TemplateRole, Role>> = { system: Role.SYSTEM, user: Role.USER, assistant: Role.ASSISTANT };

/** The template verb a proto `Verb` names; undefined for Embed (no prompt) and unknown values. */
export function templateVerbOf(verb: Verb): TemplateVerb | undefined {
  return (Object.keys(VERBS) as TemplateVerb[]).find((v) => VERBS[v] === verb);
}

/** The template role a proto `Role` names; undefined for roles a template cannot have (tool, unset). */
export function templateRoleOf(role: Role): TemplateRole | undefined {
  return (Object.keys(ROLES) as TemplateRole[]).find((r) => ROLES[r] === role);
}

/** A stored template as the API returns it. */
export function promptTemplateMessage(record: PromptTemplateRecord): PromptTemplate {
  return create(PromptTemplateSchema, {
    name: promptResourceName({ orgName: record.orgName, name: record.name }),
    verb: VERBS[record.verb as TemplateVerb] ?? Verb.UNSPECIFIED,
    description: record.description,
    activeVersion: record.activeVersion,
    latestVersion: record.latestVersion,
    attachments: record.attachments,
    createTime: timestampFromDate(record.createdAt),
    updateTime: timestampFromDate(record.updatedAt),
  });
}

/** A stored version of `template` as the API returns it. */
export function promptVersionMessage(template: PromptTemplateRecord, record: PromptVersionRecord): PromptVersion {
  return create(PromptVersionSchema, {
    name: `${promptResourceName({ orgName: template.orgName, name: template.name })}/versions/${record.version}`,
    version: record.version,
    messages: record.messages.map((m) => ({ role: ROLES[m.role], template: m.template })),
    variables: record.variables,
    description: record.description,
    creator: record.creator,
    createTime: timestampFromDate(record.createdAt),
  });
}
