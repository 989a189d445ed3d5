/**
 * Shapes of credentials that must never sit in a prompt template (OWASP LLM07: a template reaches
 * every provider it is sent to and every place prompts are logged). Each is distinctive enough
 * that ordinary prose never matches it.
 */
const SECRET_SHAPES: readonly { what: string; pattern: RegExp }[] = [
  { what: "a Switchboard key", pattern: /\bsb_[a-z]+_[0-9A-Za-z]{49}\b/ },
  { what: "an Anthropic API key", pattern: /\bsk-ant-[A-Za-z0-9_-]{20,}/ },
  { what: "an OpenAI API key", pattern: /\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{32,}/ },
  { what: "a Google API key", pattern: /\bAIza[0-9A-Za-z_-]{35}\b/ },
  { what: "an AWS access key id", pattern: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/ },
  { what: "a GitHub token", pattern: /\bgh[pousr]_[0-9A-Za-z]{36,}\b/ },
  { what: "a Slack token", pattern: /\bxox[abposr]-[0-9A-Za-z-]{10,}/ },
  { what: "a private key", pattern: /-----BEGIN [A-Z ]*PRIVATE KEY-----/ },
];

/**
 * What kind of credential `text` appears to contain ("an OpenAI API key"), or undefined. The
 * match itself is never returned, so an error built from the answer cannot echo the secret.
 */
export function findSecretLiteral(text: string): string | undefined {
  return SECRET_SHAPES.find((shape) => shape.pattern.test(text))?.what;
}
