/**
 * How the profile summaries (`profile-top.ts`, `alloc-top.ts`) name a V8 call frame: the package
 * or source folder it belongs to, and a short label for the function.
 */

/** A call frame as V8's CPU and sampling heap profiles give it. */
export interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

/** The package (`ioredis`), Node module (`node:internal`) or source folder (`server/openai`) of a frame. */
export function areaOf(url: string, name: string): string {
  if (!url) return name.startsWith("(") ? name : "(native)";
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith("node:")) return url.split("/")[0]!.replace(/:.*/, ":") + url.slice(5).split("/")[0];
  const ours = /\/work\/[^/]+\/((?:server|gen|bench)\/[^/]+)/.exec(url) ?? /((?:server|gen|bench)\/[^/]+)/.exec(url);
  return ours ? ours[1]! : url;
}

/** `function path:line`, the path without node_modules/ or the checkout's folder. */
export function frameLabel({ functionName, url, lineNumber }: CallFrame): string {
  const where = url ? `${url.replace(/^.*node_modules\//, "").replace(/^file:\/\/\/work\/[^/]+\//, "")}:${lineNumber + 1}` : "";
  return `${functionName || "(anonymous)"} ${where}`;
}
