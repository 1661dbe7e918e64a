/**
 * DICOM input above what dcm2niix's WASM heap can hold goes to a native
 * `dcm2niix` on PATH, when there is one and this process may run it (the
 * `siamize` command that `deno task install` writes may run the one it
 * found on PATH; `deno task siamize` runs none): raw NIfTI into a fresh
 * folder under the siamize cache's `tmp/`, read back, and the folder
 * removed. A folder is given to it as it is; the files of a zip or a
 * single file are written under that scratch folder first (by index, never
 * by their names in the archive).
 *
 * @module
 */
import { join } from "../core/_std.ts";
import { cacheDir } from "../core/cache_dir.ts";
import { trackTemp, untrackTemp } from "../core/fsutil.ts";
import { parseByteSize } from "../core/limits.ts";
import { type Converted, DCM2NIIX_ARGS, WASM_HEAP_BYTES } from "./_dcm2niix.ts";
import { type DicomSource, hasDicomMagic } from "./dicom_source.ts";

/**
 * For tests only: the environment variable that lowers the input size
 * above which the native converter is used in place of the WASM build
 * (the `siamize` task does not grant it, so a run never sees it).
 */
export const WASM_LIMIT_ENV = "SIAMIZE_TEST_DICOM_WASM_BYTES";

/**
 * The most DICOM input (bytes) the WASM build takes: half of its 2 GiB heap
 * (the files, the volume and dcm2niix's working copies share it), or
 * {@linkcode WASM_LIMIT_ENV} where a test sets it.
 */
export function wasmInputLimit(): number {
  let v: string | undefined;
  try {
    v = Deno.env.get(WASM_LIMIT_ENV);
  } catch {
    v = undefined; // not granted: the real limit
  }
  return parseByteSize(v) ?? WASM_HEAP_BYTES / 2;
}

/** The scratch root of native conversions: `<cache>/tmp`. */
export function nativeScratchRoot(): string {
  return join(cacheDir(), "tmp");
}

/** Why a native dcm2niix could not be used, for the error line; or its conversion. */
export type NativeResult = { converted: Converted } | { unavailable: string };

/**
 * Converts `source` with the native `dcm2niix` on PATH into a scratch
 * folder under `root` (default {@linkcode nativeScratchRoot}), removed by
 * the result's `done()` (or at once when the conversion fails). Says why
 * when no native dcm2niix can run.
 */
export async function convertNative(source: DicomSource, root = nativeScratchRoot()): Promise<NativeResult> {
  try {
    // that it runs is enough (old versions answer --version with their help and a non-zero exit)
    await new Deno.Command("dcm2niix", { args: ["--version"], stdin: "null", stdout: "null", stderr: "null" }).output();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { unavailable: "no dcm2niix on PATH" };
    if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
      return {
        unavailable: "this process may not run a native dcm2niix (`deno task install` grants one found on PATH; " +
          "deno run: --allow-run=dcm2niix)",
      };
    }
    return { unavailable: `dcm2niix does not run (${(e as Error).message})` };
  }
  await Deno.mkdir(root, { recursive: true });
  const scratch = await Deno.makeTempDir({ dir: root, prefix: "dicom-" });
  trackTemp(scratch); // Ctrl-C / SIGTERM remove it too
  const remove = async () => {
    await Deno.remove(scratch, { recursive: true }).catch(() => {});
    untrackTemp(scratch);
  };
  try {
    let input = source.path;
    if (source.kind !== "folder") {
      input = join(scratch, "in");
      await Deno.mkdir(input);
      for (const [i, item] of source.items.entries()) {
        const bytes = await item.read();
        if (hasDicomMagic(bytes)) await Deno.writeFile(join(input, `${i}.dcm`), bytes);
      }
    }
    const out = join(scratch, "out");
    await Deno.mkdir(out);
    const r = await new Deno.Command("dcm2niix", {
      args: [...DCM2NIIX_ARGS, "-o", out, input],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const lines = (b: Uint8Array) => new TextDecoder().decode(b).split("\n").filter((l) => l.trim() !== "");
    const log = [...lines(r.stdout), ...lines(r.stderr).map((l) => `! ${l}`)];
    const outputs: string[] = [];
    for await (const e of Deno.readDir(out)) if (e.isFile) outputs.push(e.name);
    return {
      converted: { rc: r.code, log, outputs, read: (name) => Deno.readFile(join(out, name)), done: remove },
    };
  } catch (e) {
    await remove();
    throw e;
  }
}
