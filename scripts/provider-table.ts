/** Prints the README's provider table: `npx tsx scripts/provider-table.ts`. */
import { providerTableMarkdown } from "../server/providers/provider-table.js";

process.stdout.write(`${providerTableMarkdown()}\n`);
