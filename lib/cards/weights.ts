/**
 * Model resolution: `-M` entries (fold digits, `all`, cache file names,
 * paths) to files, and the weights cache shared with the C++ siamize.
 *
 * @module
 */
import { isAbsolute, join, resolve } from "../core/_std.ts";
import { denoEnv, type Env } from "../core/cache_dir.ts";
import { EXIT_NOINPUT, SiamizeError, UsageError } from "../core/errors.ts";
import { downloadUrlProblem, isPlainFileName } from "./parse.ts";
import { isFileSync } from "../core/fsutil.ts";
import { downloadFile, type DownloadOptions } from "./download.ts";
import type { ModelCard } from "./card.ts";
import { decodeModel } from "../engine/onnx_proto.ts";

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

/** A model file that ran: what outputs record of their origin (sidecars, `--report`, JNIfTI headers). */
export interface ModelFile {
  /** Absolute path. */
  path: string;
  /** File name. */
  name: string;
  /** SHA-256 of the file's bytes (lowercase hex). */
  sha256: string;
}

/**
 * Resolves `-M` entries (each may hold comma-separated parts): a digit →
 * the card's N-th weights file, `all` → every fold, a bare file name → that
 * file in the cache, anything with a path separator or an existing file →
 * that path. Duplicates are kept once, in order.
 *
 * @example
 * ```ts
 * import { SIAM_V03 } from "./shipped.ts";
 * import { resolveModels } from "./weights.ts";
 *
 * const models = resolveModels(["0,2"], SIAM_V03, "/cache");
 * console.log(models.map((m) => m.path)); // ["/cache/fold_0_fp16.onnx", "/cache/fold_2_fp16.onnx"]
 * ```
 */
export function resolveModels(
  specs: string[],
  card: ModelCard,
  cache: string,
  exists: (p: string) => boolean = isFileSync,
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

/** The one-line error for a model that is neither in the cache nor downloadable. */
export function missingModelError(m: ResolvedModel, why?: string): SiamizeError {
  if (!m.fromCache) return new SiamizeError(`${m.path}: model file not found`, EXIT_NOINPUT);
  return new SiamizeError(
    `model ${m.name} is not in the cache (${m.path})${why ? ` and could not be downloaded: ${why}` : ""}; ` +
      `stage it with "deno task fetch-weights" on a connected machine, copy it into that folder, or pass -M /path/to/${m.name}`,
    EXIT_NOINPUT,
  );
}

/**
 * The URL of a weights file: `$SIAMIZE_WEIGHTS_BASE_URL` + name if set, else
 * the card's prefix for the provider (`coreml`, else `default`) + name.
 */
export function weightsUrl(card: ModelCard, name: string, compute?: string, env: Env = denoEnv): string {
  const fromEnv = env("SIAMIZE_WEIGHTS_BASE_URL");
  const base = fromEnv ?? card.weights.urls[compute === "coreml" ? "coreml" : "default"] ?? card.weights.urls.default;
  const why = downloadUrlProblem(base);
  if (why) throw new UsageError(`${fromEnv !== undefined ? "SIAMIZE_WEIGHTS_BASE_URL" : "weights URL"} ${why}`);
  if (!isPlainFileName(name)) throw new UsageError(`weights file ${JSON.stringify(name)} is not a plain file name`);
  return base + encodeURIComponent(name);
}

/**
 * Fails at once, without retries, when this process may not reach the
 * weights host (the `siamize` command's `--allow-net` names neurojson.org
 * only): the error says how to allow a mirror. A host Deno would ask about
 * on a terminal is left to Deno's prompt.
 */
export async function checkNetPermission(m: ResolvedModel, url: string): Promise<void> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw missingModelError(m, `${url} is not a URL (SIAMIZE_WEIGHTS_BASE_URL?)`);
  }
  const { state } = await Deno.permissions.query({ name: "net", host: u.host });
  if (state === "granted" || (state === "prompt" && Deno.stdin.isTerminal())) return;
  throw missingModelError(
    m,
    `this process may not connect to ${u.host} (${url}): for a weights mirror, install the command with ` +
      `"deno task install --mirror ${u.origin}/" (or add ${u.host} to deno run's --allow-net)`,
  );
}

/**
 * Checks that a file is an ONNX model with the card's single input and
 * output names; throws a one-line reason otherwise (e.g. an HTML error page).
 */
export async function validateOnnx(path: string, card: ModelCard): Promise<void> {
  const bytes = await Deno.readFile(path);
  let model;
  try {
    model = decodeModel(bytes);
  } catch (e) {
    throw new Error(`not an ONNX model (${(e as Error).message.split("\n")[0]})`);
  }
  const g = model.graph;
  if (!g || !g.node?.length) throw new Error("not an ONNX model (no graph)");
  const inputs = (g.input ?? []).map((v) => v.name);
  const outputs = (g.output ?? []).map((v) => v.name);
  if (!inputs.includes(card.input.name) || !outputs.includes(card.output.name)) {
    throw new Error(
      `ONNX model has inputs [${inputs.join(", ")}] and outputs [${
        outputs.join(", ")
      }], expected ${card.input.name} -> ${card.output.name}`,
    );
  }
}

/** Options of {@linkcode fetchModel}. */
export type FetchModelOptions =
  & Pick<DownloadOptions, "onProgress" | "log" | "signal" | "attempts" | "backoffMs" | "fetch">
  & {
    /** Provider, for the CoreML URL variant. */
    compute?: string;
  };

/**
 * Makes sure a cache model is present: downloads, verifies (length, ONNX
 * I/O, SHA-256 when the card lists one) and renames it into place. A user
 * path that is missing is an error. Throws the one-line "how to stage it"
 * error when the download fails.
 *
 * @example
 * ```ts ignore
 * import { SIAM_V03 } from "./shipped.ts";
 * import { cacheDir } from "../core/cache_dir.ts";
 * import { fetchModel, resolveModels } from "./weights.ts";
 *
 * for (const m of resolveModels(["all"], SIAM_V03, cacheDir())) await fetchModel(m, SIAM_V03);
 * ```
 */
export async function fetchModel(
  m: ResolvedModel,
  card: ModelCard,
  o: FetchModelOptions = {},
): Promise<"downloaded" | "present"> {
  if (isFileSync(m.path)) return "present";
  if (!m.fromCache) throw missingModelError(m);
  const url = weightsUrl(card, m.name, o.compute);
  await checkNetPermission(m, url);
  try {
    return await downloadFile({
      url,
      dest: m.path,
      sha256: card.weights.sha256[m.name],
      validate: (p) => validateOnnx(p, card),
      onProgress: o.onProgress,
      log: o.log,
      signal: o.signal,
      attempts: o.attempts,
      backoffMs: o.backoffMs,
      fetch: o.fetch,
    });
  } catch (e) {
    if (e instanceof SiamizeError || o.signal?.aborted) throw e;
    throw missingModelError(m, `${(e as Error).message} (${url})`);
  }
}
