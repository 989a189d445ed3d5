/** One problem in the configuration, at an exact path (`server.port`, `routes.fast.targets[1]`). */
export interface ConfigIssue {
  /** Dotted path of the offending value, or the file name for file-level problems. */
  path: string;
  /** What is wrong and what would be right. */
  message: string;
}

/**
 * Thrown by `loadConfig` when the configuration is invalid. The process prints the message and
 * exits: an invalid config never half-starts a gateway.
 */
export class ConfigError extends Error {
  override readonly name = "ConfigError";

  constructor(readonly issues: readonly ConfigIssue[]) {
    super(`invalid configuration:\n${issues.map((i) => `  ${i.path}: ${i.message}`).join("\n")}`);
  }
}
