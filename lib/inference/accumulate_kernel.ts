/**
 * The loops of the logits accumulator, over a range of classes so that
 * worker threads can share one tile (see `accumulate_worker.ts`). Every
 * voxel of every class gets `sum += fround(logit * weight)` exactly once
 * per tile, so the result does not depend on how the classes are split or
 * in which order the voxels are visited.
 *
 * Grids are (C, z, y, x) with x fastest; patches (z, y, x).
 *
 * @module
 */

/** Where a tile goes in the accumulator grid. */
export interface TileGeometry {
  /** Grid shape (z, y, x). */
  shape: readonly number[];
  /** Tile start (z, y, x). */
  start: readonly number[];
  /** Patch (z, y, x). */
  patch: readonly number[];
}

/**
 * Adds classes `[c0, c1)` of (C, pz, py, px) logits times the (pz, py, px)
 * weights into `sum` at the tile's place, one row of x at a time. The
 * logits may hold only classes from `first` on (a worker's share).
 */
export function addRows(
  sum: Float32Array,
  logits: Float32Array,
  weights: Float32Array,
  geo: TileGeometry,
  c0: number,
  c1: number,
  first = 0,
): void {
  const ny = geo.shape[1], nx = geo.shape[2];
  const n = geo.shape[0] * ny * nx;
  const pz = geo.patch[0], py = geo.patch[1], px = geo.patch[2];
  const s0 = geo.start[0], s1 = geo.start[1], s2 = geo.start[2];
  rowsKernel(sum, logits, weights, n, ny, nx, pz, py, px, s0, s1, s2, c0, c1, first);
}

// Plain numeric arguments keep the loop monomorphic. Four rows at a time:
// the rows of a tile lie a grid row apart in the accumulator, and the first
// touch of each is a memory stall; four independent rows in one loop let the
// core wait for them together (SIAM card, 64x64x48 tiles, 18 classes on a
// 236x287x241 grid: 16.4 → 11 ms per tile on one thread). Every element
// still gets the one `sum += fround(logit * weight)`.
function rowsKernel(
  sum: Float32Array,
  logits: Float32Array,
  g: Float32Array,
  n: number,
  ny: number,
  nx: number,
  pz: number,
  py: number,
  px: number,
  s0: number,
  s1: number,
  s2: number,
  c0: number,
  c1: number,
  first: number,
): void {
  const pn = pz * py * px;
  const fround = Math.fround;
  const nx2 = 2 * nx, nx3 = 3 * nx, px2 = 2 * px, px3 = 3 * px;
  for (let c = c0; c < c1; c++) {
    const tc = (c - first) * pn;
    for (let z = 0; z < pz; z++) {
      const dz = c * n + ((s0 + z) * ny + s1) * nx + s2;
      let y = 0;
      for (; y + 4 <= py; y += 4) {
        const d = dz + y * nx, gi = (z * py + y) * px, t = tc + gi;
        for (let x = 0; x < px; x++) {
          sum[d + x] += fround(logits[t + x] * g[gi + x]);
          sum[d + nx + x] += fround(logits[t + px + x] * g[gi + px + x]);
          sum[d + nx2 + x] += fround(logits[t + px2 + x] * g[gi + px2 + x]);
          sum[d + nx3 + x] += fround(logits[t + px3 + x] * g[gi + px3 + x]);
        }
      }
      for (; y < py; y++) {
        const d = dz + y * nx, gi = (z * py + y) * px, t = tc + gi;
        for (let x = 0; x < px; x++) sum[d + x] += fround(logits[t + x] * g[gi + x]);
      }
    }
  }
}

/** Block edge of the (x, z) transposition in {@linkcode addXyzBlocks}: 16 floats, one cache line. */
const BLOCK = 16;

/**
 * Adds classes `[c0, c1)` of logits from an (x, y, z) tensor, (C, px, py, pz)
 * with z fastest, times the (pz, py, px) weights into the (C, z, y, x) `sum`.
 * For each class and y the (x, z) plane is a transposition; it is done in
 * 16x16 blocks so that both sides read and write whole cache lines. The
 * logits may hold only classes from `first` on.
 */
export function addXyzBlocks(
  sum: Float32Array,
  logits: Float32Array,
  weights: Float32Array,
  geo: TileGeometry,
  c0: number,
  c1: number,
  first = 0,
): void {
  const ny = geo.shape[1], nx = geo.shape[2];
  const n = geo.shape[0] * ny * nx;
  const pz = geo.patch[0], py = geo.patch[1], px = geo.patch[2];
  const s0 = geo.start[0], s1 = geo.start[1], s2 = geo.start[2];
  xyzKernel(sum, logits, weights, n, ny, nx, pz, py, px, s0, s1, s2, c0, c1, first);
}

function xyzKernel(
  sum: Float32Array,
  logits: Float32Array,
  g: Float32Array,
  n: number,
  ny: number,
  nx: number,
  pz: number,
  py: number,
  px: number,
  s0: number,
  s1: number,
  s2: number,
  c0: number,
  c1: number,
  first: number,
): void {
  const pn = pz * py * px;
  const sx = py * pz; // tensor stride of x
  const dz = ny * nx; // grid stride of z
  const gz = py * px; // weight stride of z
  const fround = Math.fround;
  for (let c = c0; c < c1; c++) {
    for (let y = 0; y < py; y++) {
      const tBase = (c - first) * pn + y * pz;
      const dBase = c * n + (s0 * ny + s1 + y) * nx + s2;
      const gBase = y * px;
      for (let z0 = 0; z0 < pz; z0 += BLOCK) {
        const z1 = Math.min(z0 + BLOCK, pz);
        for (let x0 = 0; x0 < px; x0 += BLOCK) {
          const x1 = Math.min(x0 + BLOCK, px);
          for (let z = z0; z < z1; z++) {
            const d = dBase + z * dz;
            const gr = gBase + z * gz;
            for (let x = x0, t = tBase + x0 * sx + z; x < x1; x++, t += sx) {
              sum[d + x] += fround(logits[t] * g[gr + x]);
            }
          }
        }
      }
    }
  }
}
