/**
 * `deno task siamize` runs in the checkout, not where the user typed it:
 * Deno (like npm) puts the user's folder in `INIT_CWD`. Entering it makes
 * every relative path (`-i`, `-o`, `-M`, `--vol`, `--qc`, `--report`,
 * `--card`, `@list` files and the paths inside them) mean the user's folder.
 *
 * @module
 */
import { fromFileUrl, resolve } from "../core/_std.ts";

/** The checkout root (the folder holding `deno.json`), when running from files. */
function checkoutRoot(): string | undefined {
  try {
    return resolve(fromFileUrl(new URL("../..", import.meta.url)));
  } catch {
    return undefined; // a remote or compiled module: never run by our task
  }
}

/**
 * Changes to `INIT_CWD` when this process was started by a task of this
 * checkout (it runs in the checkout root and `INIT_CWD` names another
 * existing folder); returns the folder entered, or undefined when nothing
 * changed. A process started anywhere else keeps its folder, so a user's own
 * task that `cd`s somewhere first is left alone.
 */
export function enterUserFolder(
  env: (k: string) => string | undefined = (k) => {
    try {
      return Deno.env.get(k);
    } catch {
      return undefined; // no --allow-env=INIT_CWD
    }
  },
): string | undefined {
  const user = env("INIT_CWD");
  const root = checkoutRoot();
  if (!user || !root) return undefined;
  try {
    if (resolve(Deno.cwd()) !== root || resolve(user) === root) return undefined;
    if (!Deno.statSync(user).isDirectory) return undefined;
    Deno.chdir(user);
    return user;
  } catch {
    return undefined;
  }
}
