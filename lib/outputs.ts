/**
 * Writing what a run produced: the label image (NIfTI now; JNIfTI, TPMs
 * and sidecars come with the outputs work), each file atomically.
 *
 * @module
 */
import type { Format } from "./args.ts";
import { UsageError } from "./errors.ts";
import { writeNifti } from "./nifti.ts";
import type { SegmentResult } from "./segment.ts";

/** The format an output path asks for (`-F` wins over the extension). */
export function outputKind(path: string, format?: Format): Format {
  const lower = path.toLowerCase();
  const byExt: Format | undefined = lower.endsWith(".nii") || lower.endsWith(".nii.gz")
    ? "nii"
    : lower.endsWith(".jnii")
    ? "jnii"
    : lower.endsWith(".bnii")
    ? "bnii"
    : undefined;
  const kind = format ?? byExt;
  if (!kind) throw new UsageError(`output ${path}: unknown extension (use .nii, .nii.gz, .jnii or .bnii, or -F)`);
  if (kind !== "nii") throw new UsageError(`output format ${kind} is not available yet; write .nii or .nii.gz`);
  return kind;
}

/** Options for {@linkcode writeOutputs}. */
export interface OutputOptions {
  format?: Format;
}

/** Writes the labels (uint8, NIfTI intent "label"); returns the paths written. */
export async function writeOutputs(path: string, r: SegmentResult, options: OutputOptions = {}): Promise<string[]> {
  outputKind(path, options.format);
  await writeNifti(path, r.labels, {
    datatype: "uint8",
    intentCode: 1002,
    intentName: "siam labels",
    cal: [0, r.labelTable.length - 1],
    descrip: "siamize labels",
  });
  return [path];
}
