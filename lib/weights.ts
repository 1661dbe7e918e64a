/**
 * Model resolution: `-M` entries (fold digits, `all`, cache file names,
 * paths) to files, and the weights cache shared with the C++ siamize.
 *
 * @module
 */
import { isAbsolute, join, resolve } from "./_std.ts";
import { EXIT_NOINPUT, SiamizeError } from "./errors.ts";
import type { ModelCard } from "./model_card.ts";

/** A model to load: where it is and what to call it. */
export interface ResolvedModel {
  /** What the user wrote (`0`, `fold_1_fp16.onnx`, `/x/y.onnx`). */
  spec: string;
  /** File name. */
  name: string;
  /** Absolute path (may not exist yet for cache entries: see `cached`). */
  path: string;
  /** Whether it is a card file in the cache (downloadable) rather than a user path. */
  fromCache: boolean;
}

/** Environment lookups, injectable for tests. */
export type Env = (name: string) => string | undefined;

function denoEnv(name: string): string | undefined {
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

/**
 * Resolves `-M` entries (each may hold comma-separated parts): a digit →
 * the card's N-th weights file, `all` → every fold, a bare file name → that
 * file in the cache, anything with a path separator or an existing file →
 * that path. Duplicates are kept once, in order.
 */
export function resolveModels(
  specs: string[],
  card: ModelCard,
  cache: string,
  exists: (p: string) => boolean = fileExists,
): ResolvedModel[] {
  const out: ResolvedModel[] = [];
  const seen = new Set<string>();
  const add = (m: ResolvedModel) => {
    if (!seen.has(m.path)) {
      seen.add(m.path);
      out.push(m);
    }
  };
  const files = card.weights.files;
  for (const raw of specs.flatMap((s) => s.split(","))) {
    const spec = raw.trim();
    if (!spec) continue;
    if (spec.toLowerCase() === "all") {
      files.forEach((name) => add({ spec, name, path: join(cache, name), fromCache: true }));
    } else if (/^\d+$/.test(spec)) {
      const k = Number(spec);
      if (k >= files.length) {
        throw new SiamizeError(`-M ${spec}: ${card.name} ${card.version} has folds 0-${files.length - 1}`, 64);
      }
      add({ spec, name: files[k], path: join(cache, files[k]), fromCache: true });
    } else if (/[\\/]/.test(spec) || isAbsolute(spec) || exists(spec)) {
      const path = resolve(spec);
      add({ spec, name: path.split(/[\\/]/).pop()!, path, fromCache: false });
    } else {
      add({ spec, name: spec, path: join(cache, spec), fromCache: true });
    }
  }
  if (!out.length) throw new SiamizeError("-M names no model", 64);
  return out;
}

function fileExists(p: string): boolean {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
}

/** The one-line error for a model that is neither in the cache nor downloadable. */
export function missingModelError(m: ResolvedModel, why?: string): SiamizeError {
  if (!m.fromCache) return new SiamizeError(`${m.path}: model file not found`, EXIT_NOINPUT);
  return new SiamizeError(
    `model ${m.name} is not in the cache (${m.path})${why ? ` and could not be downloaded: ${why}` : ""}; ` +
      `stage it with "deno task fetch-weights" on a connected machine, copy it into that folder, or pass -M /path/to/${m.name}`,
    EXIT_NOINPUT,
  );
}
