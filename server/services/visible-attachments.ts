import { isPlatformAdmin, type Principal } from "../auth/principal.js";

/**
 * The attachments of a policy or template that `principal` may see. A global one is readable by
 * every org, but a platform admin may attach it to any org's teams and keys: naming those to
 * another org would reveal resources that answer it `NotFound`. So a caller below the platform
 * sees global routes and its own org's resources only (an org's own resource attaches to nothing
 * else, so this hides nothing of it).
 */
export function visibleAttachments(principal: Principal, attachments: readonly string[]): string[] {
  if (isPlatformAdmin(principal)) return [...attachments];
  const org = principal.keyName.split("/").slice(0, 2).join("/");
  return attachments.filter((name) => name.startsWith("routes/") || name === org || name.startsWith(`${org}/`));
}
