import type { FieldMask } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";

/**
 * The fields an Update changes: the mask's paths, each one of `allowed` (proto field names), or
 * `*` for all of them (AIP-134). An empty mask or an unknown path is `InvalidArgument`.
 */
export function maskedFields<const F extends string>(mask: FieldMask | undefined, allowed: readonly F[]): ReadonlySet<F> {
  const paths = mask?.paths ?? [];
  if (paths.length === 0) throw new ConnectError(`update_mask: name at least one of ${allowed.join(", ")}`, Code.InvalidArgument);
  if (paths.length === 1 && paths[0] === "*") return new Set(allowed);
  for (const path of paths) {
    if (!(allowed as readonly string[]).includes(path)) {
      throw new ConnectError(`update_mask: "${path}" cannot be updated; updatable fields: ${allowed.join(", ")}`, Code.InvalidArgument);
    }
  }
  return new Set(paths as F[]);
}
