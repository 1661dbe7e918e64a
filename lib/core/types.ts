/**
 * Types (and the few tiny helpers that define them) shared across wings, so
 * that no wing has to import a higher one just for a type: array shapes,
 * affines, volumes and their NIfTI header, and the CLI's compute and
 * format choices.
 *
 * @module
 */
import { UsageError } from "./errors.ts";

/** (z, y, x) sizes. */
export type Shape3 = [number, number, number];

/** A 4x4 row-major affine. */
export type Affine = number[][];

/** Execution providers selectable with `-c`. */
export const COMPUTE_CHOICES: readonly Compute[] = ["auto", "cpu", "cuda", "tensorrt", "coreml", "webgpu"];
/** An execution provider choice. */
export type Compute = "auto" | "cpu" | "cuda" | "tensorrt" | "coreml" | "webgpu";
/** Output formats selectable with `-F`. */
export const FORMAT_CHOICES = ["nii", "jnii", "bnii"] as const;
/** An output format. */
export type Format = typeof FORMAT_CHOICES[number];

/** Parses `"256x256x192"` (or `,` separated) into (z, y, x). */
export function parsePatch(s: string): [number, number, number] {
  const parts = s.split(/[x,]/i);
  if (parts.length !== 3 || parts.some((p) => !/^\d+$/.test(p) || Number(p) <= 0)) {
    throw new UsageError(`-P needs three positive integers ZxYxX, got "${s}" (see --help)`);
  }
  return parts.map(Number) as [number, number, number];
}

/** Numeric storage types lib/io/nifti.ts reads and writes. */
export type DataType =
  | "uint8"
  | "int8"
  | "int16"
  | "uint16"
  | "int32"
  | "uint32"
  | "float32"
  | "float64"
  | "int64"
  | "uint64";

/** Header fields kept from the source file so outputs can be written back. */
export interface NiftiHeader {
  /** 1 or 2: the source file's NIfTI version. */
  version: 1 | 2;
  /** Whether the source was little-endian. */
  littleEndian: boolean;
  /** Stored datatype of the source. */
  datatype: DataType;
  /** Raw dim[0..7]. */
  dim: number[];
  /** Raw pixdim[0..7] (pixdim[0] is qfac). */
  pixdim: number[];
  /** Scaling as stored (0 slope = none). */
  sclSlope: number;
  /** Intercept paired with `sclSlope`. */
  sclInter: number;
  /** qform_code (0 = no qform). */
  qformCode: number;
  /** sform_code (0 = no sform). */
  sformCode: number;
  /** Quaternion b, c, d and offsets x, y, z. */
  quatern: [number, number, number];
  /** Quaternion offsets (qoffset_x, y, z). */
  qoffset: [number, number, number];
  /** sform rows (3x4). */
  srow: number[][];
  /** Spatial and temporal units (`xyzt_units`). */
  xyztUnits: number;
  /** dim_info (frequency, phase, slice axes). */
  dimInfo: number;
  /** intent_code. */
  intentCode: number;
  /** intent_name. */
  intentName: string;
  /** intent_p1..p3. */
  intentP: [number, number, number];
  /** slice_code. */
  sliceCode: number;
  /** slice_start. */
  sliceStart: number;
  /** slice_end. */
  sliceEnd: number;
  /** slice_duration. */
  sliceDuration: number;
  /** toffset. */
  toffset: number;
  /** cal_min (display range). */
  calMin: number;
  /** cal_max (display range). */
  calMax: number;
  /** descrip (80 characters). */
  descrip: string;
  /** aux_file. */
  auxFile: string;
}

/** A typed array holding voxel values. */
export type VoxelArray =
  | Uint8Array
  | Int8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array;

/** A 3-D (or 4-D) image: voxel values in x-fastest order plus geometry. */
export interface Volume {
  /** Sizes (x, y, z) or (x, y, z, t). */
  dims: number[];
  /** Voxel-to-world (RAS+ mm) affine, 4x4 row-major. */
  affine: Affine;
  /** Voxel sizes along x, y, z (and t for 4-D). */
  pixdim: number[];
  /**
   * Scaled voxel values, x fastest. Float32Array for most inputs;
   * Float64Array where float32 would lose precision (float64, 32/64-bit
   * integers).
   */
  data: VoxelArray;
  /** Header fields of the source, used when writing results back. */
  header: NiftiHeader;
}
