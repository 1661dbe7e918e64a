/**
 * Checks made before any work: output folders that exist (or can be made)
 * and accept files, so that a run never fails after minutes of inference
 * because of where it was told to write. Stale temp files of killed runs
 * are removed from them, and folders created here are removed again by
 * {@linkcode removeCreatedFolders} when the run fails.
 *
 * @module
 */
import { dirname, resolve } from "../core/_std.ts";
import { SiamizeError } from "../core/errors.ts";
import { errorText, tempPathFor, trackTemp, untrackTemp } from "../core/fsutil.ts";
import { removeStaleTemps } from "../core/staged.ts";

/** Exit code for an output that cannot be written (`EX_CANTCREAT`). */
export const EXIT_CANTCREAT = 73;

/**
 * Makes sure `dir` is a folder this process can create files in: creates it
 * (and its parents) when missing, then creates and removes a probe file —
 * the only test that holds for every user (root ignores mode bits, but not
 * read-only mounts). Throws a {@linkcode SiamizeError} (exit 73) naming
 * `what` otherwise.
 */
export async function ensureWritableFolder(dir: string, what: string): Promise<void> {
  let st: Deno.FileInfo | undefined;
  try {
    st = await Deno.stat(dir);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      throw new SiamizeError(`${what}: cannot use the folder ${dir} (${errorText(e)})`, EXIT_CANTCREAT);
    }
  }
  if (st && !st.isDirectory) throw new SiamizeError(`${what}: ${dir} is not a folder`, EXIT_CANTCREAT);
  if (!st) {
    const missing = await missingFolders(resolve(dir));
    try {
      await Deno.mkdir(dir, { recursive: true });
    } catch (e) {
      throw new SiamizeError(`${what}: cannot create the folder ${dir} (${errorText(e)})`, EXIT_CANTCREAT);
    }
    createdFolders.push(...missing);
  }
  const probe = tempPathFor(resolve(dir, "write-check"));
  trackTemp(probe); // removed even if a signal comes now
  try {
    const f = await Deno.open(probe, { write: true, createNew: true });
    f.close();
  } catch (e) {
    untrackTemp(probe);
    throw new SiamizeError(`${what}: the folder ${dir} is not writable (${errorText(e)})`, EXIT_CANTCREAT);
  }
  try {
    await Deno.remove(probe);
  } catch { /* gone already */ }
  untrackTemp(probe);
  await removeStaleTemps(dir);
}

/** Folders this process created for its outputs, deepest first at the end. */
const createdFolders: string[] = [];

/** `dir` and its ancestors that do not exist, outermost first. */
async function missingFolders(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (let d = dir; d !== dirname(d); d = dirname(d)) {
    try {
      await Deno.lstat(d);
      break;
    } catch {
      out.unshift(d);
    }
  }
  return out;
}

/**
 * Removes the output folders this run created, deepest first, when they
 * are still empty (for a run that failed: it leaves no folder behind).
 */
export async function removeCreatedFolders(): Promise<void> {
  for (const d of createdFolders.splice(0).reverse()) {
    try {
      await Deno.remove(d);
    } catch { /* not empty, or gone */ }
  }
}

/** {@linkcode ensureWritableFolder} for the folder of each file path given (undefined entries skipped). */
export async function ensureWritableFiles(paths: (string | undefined)[]): Promise<void> {
  const seen = new Set<string>();
  for (const p of paths) {
    if (!p) continue;
    const dir = dirname(resolve(p));
    if (seen.has(dir)) continue;
    seen.add(dir);
    await ensureWritableFolder(dir, p);
  }
}
