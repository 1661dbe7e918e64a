/**
 * siamize: segment 3-D head MRI into 18 tissues with SIAM v0.3 — ONNX
 * Runtime runs the network; this package does everything else with the
 * numerics of the Python original (nibabel orientation, nnU-Net crop and
 * z-score, SciPy's cubic B-spline resampling, Gaussian sliding window, fold
 * ensemble).
 *
 * @example Segment a scan and save the labels
 * ```ts ignore
 * import { segment, writeVolume } from "jsr:@neurojson/siamize";
 *
 * const result = await segment("T1.nii.gz", { models: "0" });
 * await writeVolume("labels.nii.gz", result.labels);
 * console.log(result.volumes.GM_ml, result.provider);
 * ```
 *
 * @module
 */
import {
  readVolume as readAny,
  type VolumeFormat,
  type VolumeWriteOptions,
  writeVolume as writeAny,
} from "./lib/io/read.ts";
import type { ReadOptions } from "./lib/io/nifti.ts";
import type { Volume } from "./lib/core/types.ts";

export type { DataType, NiftiHeader, Volume, VoxelArray } from "./lib/core/types.ts";
export type { ReadOptions, WriteOptions } from "./lib/io/nifti.ts";
export type { VolumeFormat, VolumeWriteOptions } from "./lib/io/read.ts";
export { makeVolume } from "./lib/io/volume.ts";
export type { Affine } from "./lib/core/types.ts";
export {
  axcodes,
  fromCanonical,
  ioOrientation,
  type Orientation,
  type Oriented,
  toCanonical,
} from "./lib/geometry/orient.ts";
export {
  createSegmenter,
  type FoldRun,
  type Progress,
  segment,
  Segmenter,
  type SegmentOptions,
  type SegmentResult,
  type Stage,
  type Timings,
} from "./lib/run/segment.ts";
export { type ClassInfo, type ClassMerge, type ModelCard } from "./lib/cards/card.ts";
export { loadCard } from "./lib/cards/parse.ts";
export { SIAM_V03 } from "./lib/cards/shipped.ts";
export {
  type Inference,
  type Normalization,
  type NormalizationStep,
  type Preprocessing,
  type Region,
  type SlidingWindowInference,
  type WholeVolumeInference,
} from "./lib/cards/card.ts";
export { resolveCard, SHIPPED_CARDS, shippedCard } from "./lib/cards/shipped.ts";
export { cacheDir } from "./lib/core/cache_dir.ts";
export { fetchModel, type ModelFile, type ResolvedModel, resolveModels } from "./lib/cards/weights.ts";
export { qcPicture } from "./lib/outputs/qc.ts";
export { tissueVolumes, type VolumeRow } from "./lib/outputs/volumes.ts";
export { InputError, SiamizeError, UsageError } from "./lib/core/errors.ts";
export type { Backend, GraphOptimization, ModelSource, NetworkSession, SessionConfig } from "./lib/engine/ort.ts";
export type { F32Tensor, GraphConfig, GraphOpener, GraphSession, TensorInfo } from "./lib/engine/graph_session.ts";
export type { Compute } from "./lib/core/types.ts";
export type { DownloadOptions, DownloadProgress } from "./lib/cards/download.ts";
export type { Shape3 } from "./lib/core/types.ts";
export type { Fold, TileAdds } from "./lib/inference/sliding_window.ts";
export { makePlan, type Plan, type PlanOptions } from "./lib/run/plan.ts";
export type { TilePredictor } from "./lib/inference/tiling.ts";
export type { JniftiWriteOptions, LabelEntry } from "./lib/io/jnifti.ts";
export type { Endian } from "./lib/io/bjdata.ts";
export type { FetchModelOptions } from "./lib/cards/weights.ts";
export type { Env } from "./lib/core/cache_dir.ts";
export type { QcOptions } from "./lib/outputs/qc.ts";
export { VERSION } from "./lib/run/report.ts";
export {
  type Embedded,
  type EmbeddingStore,
  type ModelInput,
  type Prediction,
  Prompter,
  type PrompterOptions,
} from "./lib/prompt/prompter.ts";
export {
  parsePromptCard,
  type PromptCard,
  type PromptNetwork,
  resolvePromptCard,
  SAMRI_VIT_B,
} from "./lib/prompt/card.ts";
export type { PointPrompt, Prompt } from "./lib/prompt/prompts.ts";
export type { PixelStats, Prepared, Slice2D } from "./lib/prompt/preprocess.ts";
export type { U8Image } from "./lib/prompt/pillow_resize.ts";
export { type SliceRef, takeSlice } from "./lib/prompt/slice.ts";
export { diskEmbeddingStore, type DiskStoreOptions } from "./lib/prompt/embedding_cache.ts";
export { maskBox, propagate, type Propagation } from "./lib/prompt/propagate.ts";
export { samriNifti, samriPng } from "./lib/prompt/write.ts";

/**
 * Reads a scan: `.nii` / `.nii.gz` (NIfTI-1 or -2; scaling applied, nibabel's
 * choice of affine), `.jnii` / `.bnii` (JNIfTI), or DICOM holding one series:
 * a folder, a `.zip` or a multi-frame file (converted by dcm2niix's WASM
 * build; see lib/io/dicom.ts).
 *
 * @example
 * ```ts
 * import { makeVolume, readVolume, writeVolume } from "./mod.ts";
 *
 * const dir = await Deno.makeTempDir();
 * await writeVolume(`${dir}/a.nii.gz`, makeVolume(new Float32Array(24).fill(1), [2, 3, 4]));
 * const vol = await readVolume(`${dir}/a.nii.gz`);
 * console.log(vol.dims); // [2, 3, 4]
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function readVolume(path: string, options?: ReadOptions): Promise<Volume> {
  return readAny(path, options);
}

/**
 * Writes a volume as NIfTI-1 (`.nii`, `.nii.gz`) or JNIfTI (`.jnii`,
 * `.bnii`), atomically, keeping the source header's geometry.
 *
 * @example
 * ```ts
 * import { makeVolume, writeVolume } from "./mod.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const labels = makeVolume(new Uint8Array(8).fill(2), [2, 2, 2]);
 * await writeVolume(`${dir}/labels.nii.gz`, labels, { datatype: "uint8", intentCode: 1002 });
 * await writeVolume(`${dir}/labels.jnii`, labels);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function writeVolume(
  path: string,
  volume: Volume,
  options?: VolumeWriteOptions & { format?: VolumeFormat },
): Promise<void> {
  return writeAny(path, volume, options);
}

// `deno run -A jsr:@neurojson/siamize -i T1.nii.gz -o labels.nii.gz` runs the CLI.
if (import.meta.main) await (await import("./cli.ts")).run();
