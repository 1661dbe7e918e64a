/**
 * siamize: segment 3-D head MRI into 18 tissues with SIAM v0.3 — ONNX
 * Runtime runs the network, this package does everything else, with the
 * numerics of the Python original.
 *
 * @example Segment a scan and save the labels
 * ```ts ignore
 * import { segment, writeVolume } from "jsr:@neurojson/siamize";
 * const result = await segment("T1.nii.gz", { models: "0" });
 * await writeVolume("labels.nii.gz", result.labels);
 * ```
 *
 * @module
 */
import { readNifti, type ReadOptions, type Volume, writeNifti, type WriteOptions } from "./lib/nifti.ts";

export type { DataType, NiftiHeader, ReadOptions, Volume, VoxelArray, WriteOptions } from "./lib/nifti.ts";
export { makeVolume } from "./lib/nifti.ts";
export type { Affine } from "./lib/affine.ts";
export { axcodes, fromCanonical, ioOrientation, type Orientation, toCanonical } from "./lib/orient.ts";
export {
  type Progress,
  segment,
  Segmenter,
  type SegmentOptions,
  type SegmentResult,
  type Timings,
} from "./lib/segment.ts";
export { type ClassInfo, loadCard, type ModelCard, SIAM_V03 } from "./lib/model_card.ts";
export { cacheDir, type ResolvedModel, resolveModels } from "./lib/weights.ts";
export { InputError, SiamizeError, UsageError } from "./lib/errors.ts";
export { VERSION } from "./lib/report.ts";

/**
 * Reads a scan (`.nii`, `.nii.gz`; NIfTI-1 or -2) with scaling applied and
 * nibabel's choice of affine.
 *
 * @example
 * ```ts ignore
 * const vol = await readVolume("T1.nii.gz");
 * console.log(vol.dims, vol.affine);
 * ```
 */
export function readVolume(path: string, options?: ReadOptions): Promise<Volume> {
  return readNifti(path, options);
}

/**
 * Writes a volume as NIfTI-1 (`.nii` or `.nii.gz`) atomically, keeping the
 * source header's geometry.
 *
 * @example
 * ```ts ignore
 * await writeVolume("copy.nii.gz", await readVolume("T1.nii.gz"));
 * ```
 */
export function writeVolume(path: string, volume: Volume, options?: WriteOptions): Promise<void> {
  return writeNifti(path, volume, options);
}
