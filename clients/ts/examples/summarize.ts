/**
 * Summarizes text with Switchboard's Summarize verb.
 *
 *   SWITCHBOARD_URL=http://127.0.0.1:8080 SWITCHBOARD_KEY=sb_live_… \
 *     npx tsx clients/ts/examples/summarize.ts "Text to summarize…"
 *
 * (Outside this repository, import from "@switchboard-ai/client" instead of "../src/index.js".)
 */
import { Code, createSwitchboardClient, SummaryStyle, SwitchboardError } from "../src/index.js";

const apiKey = process.env.SWITCHBOARD_KEY;
if (!apiKey) {
  console.error("set SWITCHBOARD_KEY to a key with SCOPE_INVOKE (npm start prints the bootstrap key once)");
  process.exit(2);
}
const text = process.argv.slice(2).join(" ") || "Switchboard is an AI gateway: applications call typed verbs, and it owns keys, budgets, caching and fallback.";

const sb = createSwitchboardClient({ baseUrl: process.env.SWITCHBOARD_URL ?? "http://127.0.0.1:8080", apiKey, timeoutMs: 30_000 });
try {
  const res = await sb.capability.summarize({ text, style: SummaryStyle.BULLETS, bulletCount: 3 });
  for (const bullet of res.bullets) console.log(`• ${bullet}`);
  if (res.bullets.length === 0) console.log(res.summary);
  console.log(`\n${res.usage?.provider}/${res.usage?.model}: ${res.usage?.inputTokens} in, ${res.usage?.outputTokens} out, ${res.usage?.costMicrosUsd} µUSD`);
} catch (err) {
  if (!(err instanceof SwitchboardError)) throw err;
  if (err.budgetExceeded) console.error(`budget ${err.budgetExceeded.budget} is spent until its period resets`);
  else if (err.code === Code.Unavailable) console.error(`every provider failed: ${err.providerAttempts?.attempts.map((a) => `${a.provider}/${a.model}: ${a.error}`).join("; ")}`);
  else console.error(`${Code[err.code]}: ${err.rawMessage}`);
  process.exit(1);
}
