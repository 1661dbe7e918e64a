/**
 * The siamize cache folder (weights, embeddings, and the scratch space of
 * conversions under `tmp/`), shared with the C++ siamize's layout.
 *
 * @module
 */
import { join, resolve } from "./_std.ts";
import { EXIT_NOINPUT, SiamizeError } from "./errors.ts";

/** Environment lookups, injectable for tests. */
export type Env = (name: string) => string | undefined;

/** `Deno.env.get`, undefined without the permission. */
export function denoEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // no --allow-env for this variable
  }
}

/**
 * The weights cache: `$SIAMIZE_CACHE_DIR`, else `$HOME/.cache/siamize/models`
 * (POSIX) or `%LOCALAPPDATA%/siamize/models` (Windows) — the C++ siamize's
 * layout, so one download serves both.
 *
 * @example
 * ```ts
 * import { cacheDir } from "./cache_dir.ts";
 *
 * console.log(cacheDir((k) => (k === "HOME" ? "/home/me" : undefined), "linux")); // "/home/me/.cache/siamize/models"
 * ```
 */
export function cacheDir(env: Env = denoEnv, os: string = Deno.build.os): string {
  const explicit = env("SIAMIZE_CACHE_DIR");
  if (explicit) return resolve(explicit);
  if (os === "windows") {
    const local = env("LOCALAPPDATA");
    if (local) return join(local, "siamize", "models");
  }
  const home = env("HOME") ?? env("USERPROFILE");
  if (!home) throw new SiamizeError("cannot find a cache folder: set SIAMIZE_CACHE_DIR or HOME", EXIT_NOINPUT);
  return join(home, ".cache", "siamize", "models");
}
