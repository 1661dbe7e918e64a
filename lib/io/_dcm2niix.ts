/**
 * The one place that loads dcm2niix's WASM build (the "jpeg" build with
 * OpenJPEG and CharLS, pinned in deno.json's imports as `@niivue/dcm2niix`).
 * The package exports only a Worker wrapper that converts once per
 * instance; this loads the sibling Emscripten module itself so that one
 * instance converts many series through its virtual file system.
 *
 * @module
 */

/** The parts of the Emscripten module this project drives. */
export interface Dcm2niixModule {
  /** Runs dcm2niix's `main` with these arguments; returns its exit code. */
  callMain(args: string[]): number;
  /** Emscripten's in-memory file system. */
  FS: {
    mkdir(path: string): void;
    writeFile(path: string, data: Uint8Array): void;
    readFile(path: string): Uint8Array;
    readdir(path: string): string[];
    unlink(path: string): void;
    rmdir(path: string): void;
    isDir(mode: number): boolean;
    stat(path: string): { mode: number };
  };
}

/**
 * What one conversion (WASM or native) left: dcm2niix's exit code, its log
 * (stderr lines prefixed with `"! "`), the names of the files it wrote and
 * how to read them.
 */
export interface Converted {
  /** dcm2niix's exit code. */
  rc: number;
  /** Its output lines. */
  log: string[];
  /** The names of the files it wrote (`.nii`, `.json`). */
  outputs: string[];
  /** The bytes of one of `outputs`. */
  read(name: string): Promise<Uint8Array>;
  /** Frees what the conversion wrote (and lets the next one start). */
  done(): Promise<void>;
}

/** The arguments of every conversion: BIDS sidecar, no anonymisation, raw NIfTI, `s<series>_<uid>` names. */
export const DCM2NIIX_ARGS = ["-b", "y", "-ba", "n", "-z", "n", "-f", "s%s_%j"];

/** The WASM heap ceiling of this build (32-bit addresses): 2 GiB. */
export const WASM_HEAP_BYTES = 2 * 2 ** 30;

/**
 * A fresh dcm2niix instance whose stdout and stderr lines go to `log`
 * (stderr lines prefixed with `"! "`).
 *
 * The package is named by its full `npm:` specifier (the version deno.json
 * pins), never by the import map's bare name, so that it resolves when
 * siamize is imported by path from a script with no deno.json of its own.
 * The literal dynamic import puts the package in the module graph (Deno
 * fetches it, and `deno compile` embeds it); its Worker wrapper itself is
 * not used.
 */
export async function loadDcm2niix(log: string[]): Promise<Dcm2niixModule> {
  await import("npm:@niivue/dcm2niix@1.2.0");
  const wrapper = import.meta.resolve("npm:@niivue/dcm2niix@1.2.0");
  const url = new URL("./dcm2niix.jpeg.js", wrapper).href;
  const { default: factory } = await import(url) as {
    default: (o: Record<string, unknown>) => Promise<Dcm2niixModule>;
  };
  return await factory({
    print: (s: string) => log.push(s),
    printErr: (s: string) => log.push(`! ${s}`),
  });
}
