/**
 * One reference token of a JSON Pointer (RFC 6901), with its slash: `/` + `key` with `~` written
 * `~0` and `/` written `~1`, as Ajv writes instance and schema paths. Appended to a pointer, it
 * names the member `key` (or, for an array index, the element).
 */
export function pointer(key: string): string {
  return `/${key.replaceAll("~", "~0").replaceAll("/", "~1")}`;
}
