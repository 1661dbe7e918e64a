/**
 * File-system helpers: atomic writes and existence checks.
 *
 * @module
 */
import { SiamizeError } from "./errors.ts";
import { noteTemp, startWatchdog } from "./interrupt.ts";

let counter = 0;

/** A temporary name beside `path`, in the same folder, so a rename is atomic. */
export function tempPathFor(path: string): string {
  const suffix = `${Deno.pid}.${Date.now().toString(36)}.${(counter++).toString(36)}`;
  // The last segment prefixed and suffixed in place (no path module: this file is also bundled for the browser).
  return path.replace(/[^/\\]*$/, (name) => `.${name}.${suffix}.tmp`);
}

/** Temp files and locks this process holds now; removed by {@linkcode removeTempFiles}. */
const liveTemps = new Set<string>();

/** Registers a path to remove if the process is interrupted (a temp file, a lock, a scratch folder with its files). */
export function trackTemp(path: string): void {
  liveTemps.add(path);
  noteTemp({ add: path });
}

/** Unregisters a path given to {@linkcode trackTemp}. */
export function untrackTemp(path: string): void {
  liveTemps.delete(path);
  noteTemp({ drop: path });
}

/** Removes every temp file still being written, every lock held and every scratch folder (for signal handlers). */
export function removeTempFiles(): void {
  for (const p of liveTemps) {
    try {
      Deno.removeSync(p, { recursive: true });
    } catch { /* already gone */ }
  }
  liveTemps.clear();
}

/**
 * On SIGINT / SIGTERM: remove temp files and locks, then exit with 130 /
 * 143 at once, even while a network call blocks the main thread (a
 * watchdog worker, `lib/core/interrupt.ts`; without FFI permission the main
 * thread handles signals between blocking calls). Outputs only ever appear
 * by renaming finished files, so nothing partial is left.
 */
export async function installSignalCleanup(log: (s: string) => void = (s) => console.error(s)): Promise<void> {
  if (await startWatchdog(liveTemps)) return;
  if (Deno.build.os === "windows") {
    Deno.addSignalListener("SIGINT", () => {
      removeTempFiles();
      Deno.exit(130);
    });
    return;
  }
  for (const [sig, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    Deno.addSignalListener(sig, () => {
      removeTempFiles();
      log(`siamize: interrupted (${sig}); no partial outputs left`);
      Deno.exit(code);
    });
  }
}

/**
 * Writes `data` to `path` atomically: to a temp file in the same folder,
 * then renamed over `path`. A failure leaves no partial file behind.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | ReadableStream<Uint8Array>): Promise<void> {
  const tmp = tempPathFor(path);
  trackTemp(tmp);
  try {
    if (data instanceof Uint8Array) await Deno.writeFile(tmp, data);
    else await Deno.writeFile(tmp, data);
    await Deno.rename(tmp, path);
  } catch (e) {
    try {
      await Deno.remove(tmp);
    } catch { /* never created */ }
    throw new SiamizeError(`${path}: cannot write (${errorText(e)})`, 73, { cause: e });
  } finally {
    untrackTemp(tmp);
  }
}

/** Whether `path` is an existing file (synchronous). */
export function isFileSync(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/**
 * The first `n` bytes of the file at `path` (fewer when the file is
 * shorter). Errors opening or reading it are thrown as they come.
 */
export async function readFileHead(path: string, n: number): Promise<Uint8Array> {
  using f = await Deno.open(path, { read: true });
  const buf = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const r = await f.read(buf.subarray(got));
    if (r === null) break;
    got += r;
  }
  return buf.subarray(0, got);
}

/** Whether something exists at `path`. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** The short text of an error, without a stack. */
export function errorText(e: unknown): string {
  // In a browser (the web build) there is no Deno.errors.
  if (typeof Deno === "undefined") return e instanceof Error ? e.message.split("\n")[0] : String(e);
  if (e instanceof Deno.errors.NotFound) return "no such file or directory";
  if (e instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (e instanceof Error) return e.message.split("\n")[0];
  return String(e);
}
