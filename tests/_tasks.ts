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

/** The environment a user's shell would give (without an `INIT_CWD` inherited from an outer npm or deno task). */
export function userEnv(): Record<string, string> {
  // The TLS and proxy settings a user's shell carries too: `deno install` fetches npm packages, and where the
  // registry is reached through a proxy with its own CA, Deno needs them (NODE_EXTRA_CA_CERTS, DENO_CERT, ...).
  const keep = [
    "PATH",
    "HOME",
    "DENO_DIR",
    "TMPDIR",
    "XDG_CACHE_HOME",
    "SIAMIZE_CACHE_DIR",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "DENO_CERT",
    "NODE_EXTRA_CA_CERTS",
    "DENO_TLS_CA_STORE",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "NO_PROXY",
    "https_proxy",
    "http_proxy",
    "no_proxy",
    "NPM_CONFIG_REGISTRY",
  ];
  const env: Record<string, string> = { NO_COLOR: "1" };
  for (const k of keep) {
    const v = Deno.env.get(k);
    if (v !== undefined) env[k] = v;
  }
  return env;
}
