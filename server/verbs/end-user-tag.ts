/**
 * The tag that carries the end user a call is made for: the Connect surface's
 * `RequestOptions.end_user` and the OpenAI surface's `user`. Recorded like any tag on the call's
 * usage-ledger rows (and request-log rows), so `UsageService` filters (`tags`) and groups
 * (`group_by_tag: "end_user"`) by it; it never reaches a provider.
 */
export const END_USER_TAG = "end_user";

/**
 * `tags` with the end user added under {@link END_USER_TAG} when one is given (empty: none). The
 * dedicated field wins over a caller-set tag of the same name. Its length is bounded where it is
 * parsed (256 characters, the tag-value limit).
 */
export function withEndUser(tags: Readonly<Record<string, string>>, endUser: string | undefined): Readonly<Record<string, string>> {
  return endUser === undefined || endUser === "" ? tags : { ...tags, [END_USER_TAG]: endUser };
}
