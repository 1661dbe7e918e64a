/**
 * Taking a 2-D slice out of an image as SAMRI sees it, and putting a mask
 * back. Axes are those of the stored array (nibabel's `get_fdata()` shape,
 * no reorientation); a slice's rows (y) run along the first remaining axis
 * and its columns (x) along the second, as NumPy's `vol.take(index, axis)`
 * gives them.
 *
 * @module
 */
import { InputError } from "../core/errors.ts";
import type { Volume } from "../core/types.ts";
import type { Slice2D } from "./preprocess.ts";

/** Where a slice sits in a 3-D array. */
export interface SliceRef {
  /** Axis of the stored array (0, 1, 2) held fixed. */
  axis: number;
  /** Index along that axis. */
  index: number;
}

/** The array shape nibabel reports: `dim[1..dim[0]]`. */
export function storedShape(vol: Volume): number[] {
  const d = vol.header.dim;
  if (d && d[0] >= 1 && d[0] <= 7) return d.slice(1, 1 + d[0]);
  return [...vol.dims];
}

function sizes3(vol: Volume): [number, number, number] {
  return [vol.dims[0] ?? 1, vol.dims[1] ?? 1, vol.dims[2] ?? 1];
}

/** Linear-index strides of the x-fastest data for the remaining (row, column) axes and the fixed one. */
function layout(
  dims: [number, number, number],
  axis: number,
): { rows: number; cols: number; sr: number; sc: number; sa: number } {
  const strides = [1, dims[0], dims[0] * dims[1]];
  const rest = [0, 1, 2].filter((a) => a !== axis);
  return { rows: dims[rest[0]], cols: dims[rest[1]], sr: strides[rest[0]], sc: strides[rest[1]], sa: strides[axis] };
}

/**
 * `vol.take(index, axis)` of the stored (x, y, z) array as a (rows, columns)
 * slice in float64. Throws a one-line error naming `path` for an axis or
 * index out of range.
 *
 * @example
 * ```ts
 * import { makeVolume } from "../io/volume.ts";
 * import { takeSlice } from "./slice.ts";
 *
 * const v = makeVolume(Float32Array.from({ length: 24 }, (_, i) => i), [2, 3, 4]);
 * const s = takeSlice(v, { axis: 0, index: 1 }, "v.nii");
 * console.log(s.height, s.width, [...s.data.slice(0, 4)]); // 3 4 [1, 7, 13, 19]
 * ```
 */
export function takeSlice(vol: Volume, ref: SliceRef, path: string): Slice2D {
  const dims = sizes3(vol);
  if (!(ref.axis === 0 || ref.axis === 1 || ref.axis === 2)) {
    throw new InputError(path, `--slice axis ${ref.axis} is not 0, 1 or 2 (image ${dims.join("x")})`, 64);
  }
  if (!Number.isInteger(ref.index) || ref.index < 0 || ref.index >= dims[ref.axis]) {
    throw new InputError(
      path,
      `--slice ${ref.axis}:${ref.index} is out of range: axis ${ref.axis} has ${dims[ref.axis]} slices (image ${
        dims.join("x")
      })`,
      64,
    );
  }
  const { rows, cols, sr, sc, sa } = layout(dims, ref.axis);
  const data = new Float64Array(rows * cols);
  const base = ref.index * sa;
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) data[r * cols + c] = vol.data[base + r * sr + c * sc];
  return { height: rows, width: cols, data };
}

/**
 * SAMRI's rule for a NIfTI that should hold one 2-D image: `(1, H, W)` →
 * `[0]`; 3-D with another size-1 axis → squeezed; `(H, W)` as is; anything
 * else is an error naming `path` (a 3-D volume needs `--slice`).
 */
export function sliceOf2D(vol: Volume, path: string): { slice: Slice2D; ref: SliceRef } {
  const shape = storedShape(vol);
  if (shape.length > 3) {
    throw new InputError(
      path,
      `${shape.length}-D image ${shape.join("x")}; give (1,H,W), (H,W) or a 3-D volume with --slice`,
      65,
    );
  }
  if (shape.length <= 2) return { slice: takeSlice(vol, { axis: 2, index: 0 }, path), ref: { axis: 2, index: 0 } };
  if (shape[0] === 1) return { slice: takeSlice(vol, { axis: 0, index: 0 }, path), ref: { axis: 0, index: 0 } };
  const ones = shape.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0);
  if (ones.length) {
    const ref = { axis: ones[ones.length - 1], index: 0 };
    if (ones.length > 1) {
      throw new InputError(path, `image ${shape.join("x")} squeezes to fewer than 2 dimensions`, 65);
    }
    return { slice: takeSlice(vol, ref, path), ref };
  }
  throw new InputError(
    path,
    `3-D volume ${shape.join("x")}: choose a slice with --slice AXIS:INDEX (or --propagate)`,
    64,
  );
}

/**
 * Writes a (rows, columns) mask into a zeroed 3-D uint8 array of `dims`
 * (x fastest) at the slice `ref`; returns `target`.
 */
export function putSlice(
  target: Uint8Array,
  dims: [number, number, number],
  ref: SliceRef,
  mask: Uint8Array,
): Uint8Array {
  const { rows, cols, sr, sc, sa } = layout(dims, ref.axis);
  if (mask.length !== rows * cols) throw new RangeError(`mask has ${mask.length} pixels, the slice ${rows}x${cols}`);
  const base = ref.index * sa;
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) target[base + r * sr + c * sc] = mask[r * cols + c];
  return target;
}

/** The 3-D sizes of a volume's data (a 2-D image as (H, W, 1)). */
export function dims3(vol: Volume): [number, number, number] {
  return sizes3(vol);
}

/** Sets `value` in a 3-D uint8 array of `dims` where the (rows, columns) mask at slice `ref` is non-zero. */
export function paintSlice(
  target: Uint8Array,
  dims: [number, number, number],
  ref: SliceRef,
  mask: Uint8Array,
  value: number,
): void {
  const { rows, cols, sr, sc, sa } = layout(dims, ref.axis);
  if (mask.length !== rows * cols) throw new RangeError(`mask has ${mask.length} pixels, the slice ${rows}x${cols}`);
  const base = ref.index * sa;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) if (mask[r * cols + c]) target[base + r * sr + c * sc] = value;
  }
}
