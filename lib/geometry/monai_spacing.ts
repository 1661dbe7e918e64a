/**
 * MONAI's inference semantics, stage by stage, as read from MONAI's source
 * (`Spacing` / `compute_shape_offset` / `zoom_affine`, `SpatialResample`,
 * `sliding_window_inference` / `dense_patch_slices`,
 * `compute_importance_map`, `Invertd`):
 *
 * - the `Spacing` output grid (shape and affine, corner- or centre-aligned),
 * - trilinear resampling onto it (float64, border-clamped) and
 *   nearest-neighbour resampling of labels back,
 * (Replicate padding is `padVolume(..., "replicate")` in `tiling.ts`.)
 *
 * Geometry is in NIfTI voxel order (i, j, k) = MONAI's spatial axes; arrays
 * are stored i fastest, i.e. (z, y, x) = (k, j, i) shapes elsewhere.
 *
 * @module
 */
import { type Affine } from "../core/types.ts";
import { invert, multiply } from "./affine.ts";
import { roundHalfEven } from "./resample.ts";

/** A voxel grid: (i, j, k) sizes and its voxel-to-world affine. */
export interface Grid {
  /** Sizes (i, j, k). */
  dims: [number, number, number];
  /** Voxel-to-world affine. */
  affine: Affine;
}

/**
 * `zoom_affine(affine, pixdim, diagonal=False)`: the rotation of the affine
 * (its QR factor, shears removed) with column norms `pixdim`; no
 * translation.
 */
export function zoomAffine(affine: Affine, pixdim: number[]): Affine {
  // Gram-Schmidt on the columns = the orthogonal factor of rzs = Q R with diag(R) > 0.
  const col = (j: number) => [affine[0][j], affine[1][j], affine[2][j]];
  const q: number[][] = [];
  for (let j = 0; j < 3; j++) {
    const v = col(j);
    for (const u of q) {
      const d = u[0] * v[0] + u[1] * v[1] + u[2] * v[2];
      for (let r = 0; r < 3; r++) v[r] -= d * u[r];
    }
    const n = Math.hypot(v[0], v[1], v[2]);
    q.push(v.map((x) => x / n));
  }
  const out: Affine = [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1]];
  for (let r = 0; r < 3; r++) for (let j = 0; j < 3; j++) out[r][j] = q[j][r] * pixdim[j];
  return out;
}

/**
 * The grid MONAI's `Spacing(pixdim)` resamples onto (`compute_shape_offset`):
 * per axis round(extent of the input's voxel-centre corners + 1), and the
 * output's voxel 0 on the input corner that is smallest along every output
 * axis (within 1e-8), else the two grids centre-aligned.
 */
export function spacingGrid(input: Grid, pixdim: number[]): Grid {
  const out = zoomAffine(input.affine, pixdim);
  const inv = invert(out);
  const a = input.affine;
  const corners: number[][] = [];
  for (const ci of [0, input.dims[0] - 1]) {
    for (const cj of [0, input.dims[1] - 1]) {
      for (const ck of [0, input.dims[2] - 1]) {
        corners.push([0, 1, 2].map((r) => a[r][0] * ci + a[r][1] * cj + a[r][2] * ck + a[r][3]));
      }
    }
  }
  const rot = (w: number[]) => [0, 1, 2].map((r) => inv[r][0] * w[0] + inv[r][1] * w[1] + inv[r][2] * w[2]);
  const dist = corners.map(rot);
  const dims = [0, 1, 2].map((r) => {
    let lo = Infinity, hi = -Infinity;
    for (const d of dist) {
      lo = Math.min(lo, d[r]);
      hi = Math.max(hi, d[r]);
    }
    return roundHalfEven(hi - lo + 1);
  }) as [number, number, number];
  let offset: number[] | undefined;
  for (let i = 0; i < corners.length && !offset; i++) {
    const ok = [0, 1, 2].every((r) => Math.abs(Math.min(...dist.map((d) => d[r] - dist[i][r]))) <= 1e-8);
    if (ok) offset = corners[i];
  }
  if (!offset) {
    offset = [0, 1, 2].map((r) =>
      a[r][0] * input.dims[0] / 2 + a[r][1] * input.dims[1] / 2 + a[r][2] * input.dims[2] / 2 + a[r][3] -
      (out[r][0] * dims[0] / 2 + out[r][1] * dims[1] / 2 + out[r][2] * dims[2] / 2)
    );
  }
  for (let r = 0; r < 3; r++) out[r][3] = offset[r];
  return { dims, affine: out };
}

/**
 * Visits every voxel `o` (i fastest) of `to` with its position (x, y, z) in
 * `from`'s voxels, inv(A_from)·A_to·j, in float64.
 */
function eachSource(from: Grid, to: Grid, visit: (o: number, x: number, y: number, z: number) => void): void {
  const m = multiply(invert(from.affine), to.affine);
  const [oi, oj, ok] = to.dims;
  let o = 0;
  for (let k = 0; k < ok; k++) {
    for (let j = 0; j < oj; j++) {
      const b0 = m[0][1] * j + m[0][2] * k + m[0][3];
      const b1 = m[1][1] * j + m[1][2] * k + m[1][3];
      const b2 = m[2][1] * j + m[2][2] * k + m[2][3];
      for (let i = 0; i < oi; i++, o++) visit(o, m[0][0] * i + b0, m[1][0] * i + b1, m[2][0] * i + b2);
    }
  }
}

/**
 * Trilinear resampling of `data` (on `from`) onto the grid `to`, as MONAI's
 * `SpatialResample(mode="bilinear", padding_mode="border")`: each output
 * voxel samples the input at inv(A_from)·A_to·j with coordinates clamped to
 * the edge, in float64, cast to float32.
 */
export function resampleLinear(data: ArrayLike<number>, from: Grid, to: Grid): Float32Array {
  const [ni, nj, nk] = from.dims;
  const out = new Float32Array(to.dims[0] * to.dims[1] * to.dims[2]);
  const sj = ni, sk = ni * nj;
  eachSource(from, to, (o, px, py, pz) => {
    const x = Math.min(Math.max(px, 0), ni - 1);
    const y = Math.min(Math.max(py, 0), nj - 1);
    const z = Math.min(Math.max(pz, 0), nk - 1);
    const x0 = Math.floor(x), y0 = Math.floor(y), z0 = Math.floor(z);
    const x1 = Math.min(x0 + 1, ni - 1), y1 = Math.min(y0 + 1, nj - 1), z1 = Math.min(z0 + 1, nk - 1);
    const fx = x - x0, fy = y - y0, fz = z - z0;
    const c00 = data[x0 + y0 * sj + z0 * sk] * (1 - fx) + data[x1 + y0 * sj + z0 * sk] * fx;
    const c10 = data[x0 + y1 * sj + z0 * sk] * (1 - fx) + data[x1 + y1 * sj + z0 * sk] * fx;
    const c01 = data[x0 + y0 * sj + z1 * sk] * (1 - fx) + data[x1 + y0 * sj + z1 * sk] * fx;
    const c11 = data[x0 + y1 * sj + z1 * sk] * (1 - fx) + data[x1 + y1 * sj + z1 * sk] * fx;
    out[o] = (c00 * (1 - fy) + c10 * fy) * (1 - fz) + (c01 * (1 - fy) + c11 * fy) * fz;
  });
  return out;
}

/**
 * Nearest-neighbour resampling of labels or one channel of values (on `from`) onto `to` (MONAI's
 * `Invertd` of `Spacing` with `nearest`): rounds inv(A_from)·A_to·j half to
 * even, clamped to the edge.
 */
export function resampleNearest<T extends Uint8Array | Float32Array>(labels: T, from: Grid, to: Grid): T {
  const [ni, nj, nk] = from.dims;
  const n = to.dims[0] * to.dims[1] * to.dims[2];
  const out = (labels instanceof Uint8Array ? new Uint8Array(n) : new Float32Array(n)) as T;
  const c = (v: number, n: number) => Math.min(Math.max(roundHalfEven(v), 0), n - 1);
  eachSource(from, to, (o, x, y, z) => {
    out[o] = labels[c(x, ni) + ni * (c(y, nj) + nj * c(z, nk))];
  });
  return out;
}
