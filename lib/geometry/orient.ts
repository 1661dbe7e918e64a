/**
 * Voxel-axis orientation with nibabel's semantics: `io_orientation`,
 * `aff2axcodes`, `as_closest_canonical`, and the inverse that brings a
 * canonical (RAS) result back to the input's storage order.
 *
 * @module
 */
import { type Affine } from "../core/types.ts";
import { identity, multiply, polarOrthogonal } from "./affine.ts";
import type { VoxelArray } from "../core/types.ts";

/**
 * One row per voxel axis: `[outputAxis, sign]` — the world axis (0 = x/R,
 * 1 = y/A, 2 = z/S) this voxel axis runs along, and +1 / -1 for its direction.
 */
export type Orientation = [number, 1 | -1][];

/**
 * nibabel's `io_orientation`: the closest world axis of each voxel axis,
 * e.g. `[[0, -1], [2, 1], [1, 1]]` for an LSA image.
 *
 * @example
 * ```ts
 * import { ioOrientation } from "./orient.ts";
 *
 * const lsa = [[-1.2, 0, 0, 47], [0, 0, 1, -44], [0, 2, 0, -59], [0, 0, 0, 1]];
 * console.log(ioOrientation(lsa)); // [[0, -1], [2, 1], [1, 1]]
 * ```
 *
 * robust to oblique affines (polar decomposition removes shears; axes are
 * then chosen greedily by largest absolute component, each world axis used
 * once).
 */
export function ioOrientation(affine: Affine): Orientation {
  const rzs = [0, 1, 2].map((i) => [0, 1, 2].map((j) => affine[i][j]));
  const zooms = [0, 1, 2].map((j) => Math.hypot(rzs[0][j], rzs[1][j], rzs[2][j]) || 1);
  const rs = rzs.map((row) => row.map((v, j) => v / zooms[j]));
  let r: number[][];
  try {
    r = polarOrthogonal(rs);
  } catch {
    throw new RangeError("affine is singular: voxel axes cannot be oriented");
  }
  const ornt: Orientation = [];
  for (let inAx = 0; inAx < 3; inAx++) {
    let best = -1, bestAbs = -1;
    for (let o = 0; o < 3; o++) {
      const a = Math.abs(r[o][inAx]);
      if (a > bestAbs) {
        bestAbs = a;
        best = o;
      }
    }
    if (bestAbs <= 1e-8) throw new RangeError("affine is singular: voxel axes cannot be oriented");
    ornt.push([best, r[best][inAx] < 0 ? -1 : 1]);
    r[best] = [0, 0, 0];
  }
  return ornt;
}

const LABELS = [["L", "R"], ["P", "A"], ["I", "S"]];

/**
 * nibabel's `aff2axcodes`: e.g. `["R", "A", "S"]` for a RAS+ affine.
 *
 * @example
 * ```ts
 * import { axcodes } from "./orient.ts";
 *
 * console.log(axcodes([[-1.2, 0, 0, 47], [0, 0, 1, -44], [0, 2, 0, -59], [0, 0, 0, 1]])); // ["L", "S", "A"]
 * ```
 */
export function axcodes(affine: Affine): string[] {
  return ioOrientation(affine).map(([ax, s]) => LABELS[ax][s > 0 ? 1 : 0]);
}

/** Whether an orientation is the identity (already canonical RAS). */
export function isIdentity(ornt: Orientation): boolean {
  return ornt.every(([ax, s], i) => ax === i && s === 1);
}

/**
 * The affine mapping canonical voxel indices to the original voxel indices
 * (nibabel's `inv_ornt_aff`). `shape` is the original (x, y, z) shape.
 */
export function canonicalToOriginal(ornt: Orientation, shape: number[]): Affine {
  const m = identity();
  for (let i = 0; i < 3; i++) m[i][i] = 0;
  for (let inAx = 0; inAx < 3; inAx++) {
    const [o, s] = ornt[inAx];
    m[inAx][o] = s;
    m[inAx][3] = s < 0 ? shape[inAx] - 1 : 0;
  }
  return m;
}

/** Shape after reorienting: canonical axis `o` has the size of the voxel axis mapped to it. */
export function canonicalShape(ornt: Orientation, shape: number[]): number[] {
  const out = [0, 0, 0];
  for (let inAx = 0; inAx < 3; inAx++) out[ornt[inAx][0]] = shape[inAx];
  return out;
}

/**
 * Copies voxels between storage orders. `toCanonical` true: from original
 * (x-fastest, `shape`) to canonical; false: the inverse. Extra trailing
 * dimensions (channels) are carried along block by block.
 */
function permute<T extends VoxelArray>(
  data: T,
  shape: number[],
  ornt: Orientation,
  toCanonical: boolean,
  channels: number,
): T {
  const [nx, ny, nz] = shape;
  const cs = canonicalShape(ornt, shape);
  const cstride = [1, cs[0], cs[0] * cs[1]];
  // For each original axis, the canonical stride and start.
  const st = [0, 1, 2].map((inAx) => {
    const [o, s] = ornt[inAx];
    return { step: s * cstride[o], start: s < 0 ? (shape[inAx] - 1) * cstride[o] : 0 };
  });
  const n = nx * ny * nz;
  const out = new (data.constructor as { new (n: number): T })(data.length);
  for (let c = 0; c < channels; c++) {
    const base = c * n;
    let i = 0;
    for (let z = 0; z < nz; z++) {
      const oz = st[2].start + z * st[2].step;
      for (let y = 0; y < ny; y++) {
        let j = oz + st[1].start + y * st[1].step + st[0].start;
        const sx = st[0].step;
        if (toCanonical) {
          for (let x = 0; x < nx; x++, i++, j += sx) out[base + j] = data[base + i];
        } else {
          for (let x = 0; x < nx; x++, i++, j += sx) out[base + i] = data[base + j];
        }
      }
    }
  }
  return out;
}

/** A volume-like triple for orientation functions. */
export interface Oriented<T extends VoxelArray> {
  /** Values, x fastest; a 4th dimension (channels) is allowed. */
  data: T;
  /** (x, y, z[, c]) sizes. */
  dims: number[];
  /** Voxel-to-world affine. */
  affine: Affine;
}

/**
 * nibabel's `as_closest_canonical`: reorders voxels (flips, then axis
 * permutation) so that voxel axes run R, A, S, and updates the affine so
 * every voxel keeps its world position. Returns the input unchanged when it
 * is already canonical, plus the orientation to undo it.
 *
 * @example
 * ```ts
 * import { fromCanonical, toCanonical } from "./orient.ts";
 *
 * const data = Float32Array.from({ length: 24 }, (_, i) => i);
 * const las = [[-1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]];
 * const can = toCanonical({ data, dims: [2, 3, 4], affine: las });
 * console.log(can.affine[0]); // [1, 0, 0, -1]
 * const back = fromCanonical(can.data, can.ornt, [2, 3, 4]);
 * console.log(back.every((v, i) => v === data[i])); // true
 * ```
 */
export function toCanonical<T extends VoxelArray>(v: Oriented<T>): Oriented<T> & { ornt: Orientation } {
  const ornt = ioOrientation(v.affine);
  if (isIdentity(ornt)) return { ...v, ornt };
  const shape = v.dims.slice(0, 3);
  const channels = v.dims.length > 3 ? v.dims[3] : 1;
  const data = permute(v.data, shape, ornt, true, channels);
  const dims = [...canonicalShape(ornt, shape), ...v.dims.slice(3)];
  const affine = multiply(v.affine, canonicalToOriginal(ornt, shape));
  return { data, dims, affine, ornt };
}

/**
 * Inverse of {@linkcode toCanonical}: brings canonical voxels (of the
 * original image `originalShape`) back to the original storage order.
 * See {@linkcode toCanonical} for an example.
 */
export function fromCanonical<T extends VoxelArray>(
  data: T,
  ornt: Orientation,
  originalShape: number[],
  channels = 1,
): T {
  if (isIdentity(ornt)) return data;
  return permute(data, originalShape.slice(0, 3), ornt, false, channels);
}
