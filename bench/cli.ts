/** Command-line options of the bench scripts: `--name value` and bare `--name` flags. */

/** The value after `--name` on the command line, or `fallback` when the option is absent. */
export function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : process.argv[i + 1]!;
}

/** Whether `--name` is on the command line. */
export function flag(name: string): boolean {
  return process.argv.includes(`--${name}`);
}
