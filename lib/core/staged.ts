/**
 * All-or-nothing output sets: every file of a run is written under a temp
 * name beside its final path, and the set is renamed into place only when
 * all are ready. A file that appeared at a final path meanwhile (another
 * run onto the same `-o`) is never replaced unless asked: the set is
 * rolled back and the run ends with 73. Stale temp files of ours (the
 * {@linkcode TEMP_NAME} pattern) older than {@linkcode STALE_TEMP_MS} are
 * removed by {@linkcode removeStaleTemps}.
 *
 * @module
 */
import { basename, join } from "./_std.ts";
import { SiamizeError } from "./errors.ts";
import { errorText, tempPathFor, trackTemp, untrackTemp } from "./fsutil.ts";

/** Exit code for an output that cannot be written (`EX_CANTCREAT`). */
const CANTCREAT = 73;

/** Our temp names: `.<name>.<pid>.<time base 36>.<counter base 36>.tmp` (see `tempPathFor`). */
export const TEMP_NAME: RegExp = /^\..+\.\d+\.[0-9a-z]+\.[0-9a-z]+\.tmp$/;

/** A temp file of ours older than this (1 hour) belongs to a run that died (SIGKILL, power loss). */
export const STALE_TEMP_MS = 3600_000;

/** One staged file. */
interface Staged {
  path: string;
  tmp: string;
  /** Replaces what is at `path` by design (an appended table). */
  replace: boolean;
}

/** Options of an {@linkcode OutputSet}. */
export interface OutputSetOptions {
  /** Replace files that exist at commit time (`--overwrite`). @default false */
  overwrite?: boolean;
}

/**
 * Files written under temp names and renamed into place together.
 *
 * @example
 * ```ts ignore
 * const set = new OutputSet();
 * try {
 *   await set.add("labels.nii", bytes);
 *   await set.add("labels.labels.tsv", table);
 *   await set.commit(); // both appear, or neither
 * } finally {
 *   await set.discard();
 * }
 * ```
 */
export class OutputSet {
  readonly #items: Staged[] = [];
  readonly #overwrite: boolean;

  /** An empty set. */
  constructor(o: OutputSetOptions = {}) {
    this.#overwrite = o.overwrite ?? false;
  }

  /** The final paths staged so far. */
  get paths(): string[] {
    return this.#items.map((s) => s.path);
  }

  /**
   * Writes `data` to a temp file beside `path` (exit 73 when it cannot);
   * `replace` marks a file that replaces its path by design (a table with
   * rows appended), committed after every new file.
   */
  async add(path: string, data: Uint8Array, o: { replace?: boolean } = {}): Promise<void> {
    const tmp = tempPathFor(path);
    trackTemp(tmp);
    try {
      await Deno.writeFile(tmp, data, { createNew: true });
    } catch (e) {
      await removeQuietly(tmp);
      untrackTemp(tmp);
      throw new SiamizeError(`${path}: cannot write (${errorText(e)})`, CANTCREAT, { cause: e });
    }
    this.#items.push({ path, tmp, replace: o.replace ?? false });
  }

  /**
   * Renames every staged file into place: new files first, each without
   * replacing anything (a hard link, so a file that appeared meanwhile
   * stops the commit), then the replacing ones. On a failure, the files
   * this commit created are removed again and every temp file is deleted:
   * nothing of the set is left. Returns the final paths.
   */
  async commit(): Promise<string[]> {
    const order = [...this.#items.filter((s) => !s.replace), ...this.#items.filter((s) => s.replace)];
    const created: string[] = [];
    try {
      for (const s of order) {
        if (s.replace || this.#overwrite) await rename(s);
        else {
          await placeNew(s);
          created.push(s.path);
          trackTemp(s.path); // an interrupt before the set is complete removes it again
        }
      }
    } catch (e) {
      for (const p of created) await removeQuietly(p);
      throw e;
    } finally {
      for (const p of created) untrackTemp(p);
      await this.discard();
    }
    return order.map((s) => s.path);
  }

  /** Deletes every temp file still staged (after a failure, or after a commit). */
  async discard(): Promise<void> {
    for (const s of this.#items.splice(0)) {
      await removeQuietly(s.tmp);
      untrackTemp(s.tmp);
    }
  }
}

async function removeQuietly(p: string): Promise<void> {
  try {
    await Deno.remove(p);
  } catch { /* gone already */ }
}

async function rename(s: Staged): Promise<void> {
  try {
    await Deno.rename(s.tmp, s.path);
  } catch (e) {
    throw new SiamizeError(`${s.path}: cannot write (${errorText(e)})`, CANTCREAT, { cause: e });
  }
}

/** Puts a staged file at a path that must not exist: a hard link (atomic, no clobber), else a checked rename. */
async function placeNew(s: Staged): Promise<void> {
  const appeared = () =>
    new SiamizeError(
      `${s.path}: appeared while this run was working (another run?); not replaced (use --overwrite to replace it)`,
      CANTCREAT,
    );
  try {
    await Deno.link(s.tmp, s.path);
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) throw appeared();
    // No hard links here (some network or FAT file systems): check, then rename.
    try {
      await Deno.lstat(s.path);
      throw appeared();
    } catch (e2) {
      if (e2 instanceof SiamizeError) throw e2;
    }
    return rename(s);
  }
  await removeQuietly(s.tmp);
}

/**
 * Removes temp files of ours ({@linkcode TEMP_NAME}) in `dir` last modified
 * more than {@linkcode STALE_TEMP_MS} ago: what a killed run left. Files
 * of a run still writing are younger and stay. Returns the names removed.
 */
export async function removeStaleTemps(dir: string, now = Date.now()): Promise<string[]> {
  const removed: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (!e.isFile || !TEMP_NAME.test(e.name)) continue;
      const p = join(dir, e.name);
      try {
        const st = await Deno.lstat(p);
        if (st.mtime && now - st.mtime.getTime() > STALE_TEMP_MS) {
          await Deno.remove(p);
          removed.push(basename(p));
        }
      } catch { /* raced with its owner: leave it */ }
    }
  } catch { /* unreadable folder: the writability check reports it */ }
  return removed;
}
