/**
 * Where a BIDS App may write: never the raw dataset itself, never inside a
 * raw dataset's subject folders, never a folder that holds a raw dataset
 * (a `dataset_description.json` without `DatasetType: derivative`).
 * Paths are compared after resolving symbolic links, so a link to the
 * dataset is the dataset. Checked before any work or any write.
 *
 * @module
 */
import { basename, dirname, join, relative, resolve } from "../core/_std.ts";
import { EXIT_USAGE, SiamizeError } from "../core/errors.ts";
import { parseJsonBounded } from "../core/limits.ts";

/** BIDS App exit code: the output folder is inside a raw dataset's subject folders (`sub-*`). */
export const EXIT_OUTPUT_IN_RAW = 19;
/** BIDS App exit code: the output folder holds a raw (not derivative) dataset. */
export const EXIT_OUTPUT_IS_RAW = 20;

/**
 * The real path of `path` (symbolic links resolved), also when it does not
 * exist yet: the real path of its deepest existing ancestor, plus the rest.
 */
export function realPathOf(path: string): string {
  const abs = resolve(path);
  const rest: string[] = [];
  for (let p = abs;;) {
    try {
      return join(Deno.realPathSync(p), ...rest.reverse());
    } catch {
      const up = dirname(p);
      if (up === p) return abs;
      rest.push(basename(p));
      p = up;
    }
  }
}

/** Whether `dir` holds a raw dataset: a `dataset_description.json` whose DatasetType is not "derivative". */
export function holdsRawDataset(dir: string): boolean {
  let text: string;
  try {
    text = Deno.readTextFileSync(join(dir, "dataset_description.json"));
  } catch {
    return false;
  }
  try {
    const d = parseJsonBounded(text) as Record<string, unknown> | null;
    return !(d && typeof d === "object" && d.DatasetType === "derivative");
  } catch {
    return true; // unreadable: treated as someone's raw data, never overwritten
  }
}

/**
 * Refuses an output folder that is the dataset (exit 64), lies inside the
 * `sub-*` folders of a raw dataset, this one or another (exit
 * {@linkcode EXIT_OUTPUT_IN_RAW}), or holds a raw dataset itself (exit
 * {@linkcode EXIT_OUTPUT_IS_RAW}). Reads only; call before any work.
 */
export function checkOutputPlacement(bidsDir: string, outDir: string): void {
  const raw = realPathOf(bidsDir), out = realPathOf(outDir);
  const shown = out === resolve(outDir) ? outDir : `${outDir} (${out})`;
  if (out === raw) {
    throw new SiamizeError(
      `${shown}: the output folder is the BIDS dataset itself (use derivatives/siamize)`,
      EXIT_USAGE,
    );
  }
  if (holdsRawDataset(out)) {
    throw new SiamizeError(
      `${shown}: the output folder holds a raw BIDS dataset (dataset_description.json without DatasetType "derivative")`,
      EXIT_OUTPUT_IS_RAW,
    );
  }
  for (let a = dirname(out);; a = dirname(a)) {
    const first = relative(a, out).split(/[\\/]/)[0];
    if (/^sub-/.test(first) && (a === raw || holdsRawDataset(a))) {
      throw new SiamizeError(
        `${shown}: the output folder is inside the subject folders of the raw dataset ${a}`,
        EXIT_OUTPUT_IN_RAW,
      );
    }
    if (a === dirname(a)) break;
  }
}
