/**
 * Building volumes that did not come from a file: a fresh NIfTI header for
 * an affine, and a {@linkcode Volume} from values, dims and geometry.
 *
 * @module
 */
import { type Affine } from "../core/types.ts";
import { affineToQuaternion, identity, voxelSizes } from "../geometry/affine.ts";
import type { NiftiHeader, Volume, VoxelArray } from "../core/types.ts";

/** A fresh header for a volume that came from nowhere (e.g. generated). */
export function defaultHeader(affine: Affine = identity()): NiftiHeader {
  const q = affineToQuaternion(affine);
  return {
    version: 1,
    littleEndian: true,
    datatype: "float32",
    dim: [3, 1, 1, 1, 1, 1, 1, 1],
    pixdim: [q.qfac, ...q.pixdim, 1, 1, 1, 1],
    sclSlope: 1,
    sclInter: 0,
    qformCode: 2,
    sformCode: 2,
    quatern: [q.b, q.c, q.d],
    qoffset: q.offset,
    srow: affine.slice(0, 3).map((r) => r.slice()),
    xyztUnits: 2 | 8,
    dimInfo: 0,
    intentCode: 0,
    intentName: "",
    intentP: [0, 0, 0],
    sliceCode: 0,
    sliceStart: 0,
    sliceEnd: 0,
    sliceDuration: 0,
    toffset: 0,
    calMin: 0,
    calMax: 0,
    descrip: "",
    auxFile: "",
  };
}

/**
 * Builds a volume from values (x fastest) and geometry, with a fresh header.
 *
 * @example
 * ```ts
 * import { makeVolume } from "./volume.ts";
 *
 * const v = makeVolume(new Float32Array(60), [3, 4, 5], [[2, 0, 0, 0], [0, 2, 0, 0], [0, 0, 2, 0], [0, 0, 0, 1]]);
 * console.log(v.pixdim); // [2, 2, 2]
 * ```
 */
export function makeVolume(
  data: VoxelArray,
  dims: number[],
  affine: Affine = identity(),
  header?: NiftiHeader,
): Volume {
  const n = dims.reduce((a, c) => a * c, 1);
  if (data.length !== n) throw new RangeError(`data has ${data.length} values, dims ${dims.join("x")} need ${n}`);
  const vs = voxelSizes(affine);
  return {
    dims: [...dims],
    affine,
    pixdim: dims.length > 3 ? [...vs, 1] : [...vs],
    data,
    header: header ?? defaultHeader(affine),
  };
}
