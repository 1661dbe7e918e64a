/**
 * Running the project's own `deno.json` tasks (their exact permissions) in
 * child processes, as a user would.
 *
 * @module
 */
import denoJson from "../deno.json" with { type: "json" };
import { join } from "../lib/core/_std.ts";
import { ROOT } from "./_fixtures.ts";

/** The arguments after `deno` of a task, e.g. `["run", "--allow-read", …, "cli.ts"]`, paths made absolute. */
export function taskArgs(name: keyof typeof denoJson.tasks): string[] {
  const words = denoJson.tasks[name].split(/\s+/);
  if (words[0] !== "deno") throw new Error(`task ${name} does not start with deno`);
  return words.slice(1).map((w) => (/\.ts$/.test(w) && !w.startsWith("-") ? join(ROOT, w) : w));
}

/** A child process of a task (cwd: the checkout, as `deno task` does), piped. */
export function taskCommand(
  name: keyof typeof denoJson.tasks,
  args: string[],
  o: { cwd?: string; env?: Record<string, string> } = {},
): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: [...taskArgs(name), ...args],
    cwd: o.cwd ?? ROOT,
    env: { NO_COLOR: "1", ...o.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
}
