/**
 * Cropping to the head: the bounding box of the hole-filled nonzero mask
 * (nnU-Net's `crop_to_nonzero`), and pasting results back.
 *
 * Arrays are (z, y, x) with x fastest.
 *
 * @module
 */
import type { Shape3 } from "../core/types.ts";

/** Half-open box per axis, (z, y, x): `[[z0, z1], [y0, y1], [x0, x1]]`. */
export type Box = [[number, number], [number, number], [number, number]];

/**
 * `scipy.ndimage.binary_fill_holes` with 6-connectivity: background
 * components that do not touch the border become foreground. Returns a new
 * mask (1 = foreground).
 */
export function fillHoles(mask: Uint8Array, shape: Shape3): Uint8Array {
  const [nz, ny, nx] = shape;
  const n = nz * ny * nx;
  // Flood the background from the border; what is not reached is foreground.
  const outside = new Uint8Array(n);
  const stack = new Int32Array(n);
  let sp = 0;
  const push = (i: number) => {
    if (!mask[i] && !outside[i]) {
      outside[i] = 1;
      stack[sp++] = i;
    }
  };
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++) {
        if (z === 0 || z === nz - 1 || y === 0 || y === ny - 1 || x === 0 || x === nx - 1) push((z * ny + y) * nx + x);
      }
    }
  }
  const sy = nx, sz = nx * ny;
  while (sp > 0) {
    const i = stack[--sp];
    const x = i % nx, y = ((i - x) / nx) % ny, z = Math.floor(i / sz);
    if (x > 0) push(i - 1);
    if (x < nx - 1) push(i + 1);
    if (y > 0) push(i - sy);
    if (y < ny - 1) push(i + sy);
    if (z > 0) push(i - sz);
    if (z < nz - 1) push(i + sz);
  }
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = outside[i] ? 0 : 1;
  return out;
}

/**
 * Bounding box of the nonzero voxels (non-finite values count as zero).
 * This equals the box of the hole-filled mask: filling only adds voxels
 * enclosed by foreground, which lie inside the box already, so the fill
 * itself is not needed here. An all-zero volume keeps the full box.
 */
export function nonzeroBox(data: ArrayLike<number>, shape: Shape3): Box {
  const [nz, ny, nx] = shape;
  let z0 = nz, z1 = -1, y0 = ny, y1 = -1, x0 = nx, x1 = -1;
  let i = 0;
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      let first = -1, last = -1;
      for (let x = 0; x < nx; x++, i++) {
        const v = data[i];
        if (v !== 0 && v === v && v !== Infinity && v !== -Infinity) {
          if (first < 0) first = x;
          last = x;
        }
      }
      if (first >= 0) {
        if (z < z0) z0 = z;
        z1 = z;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
        if (first < x0) x0 = first;
        if (last > x1) x1 = last;
      }
    }
  }
  if (z1 < 0) return [[0, nz], [0, ny], [0, nx]];
  return [[z0, z1 + 1], [y0, y1 + 1], [x0, x1 + 1]];
}

/** Shape of a box. */
export function boxShape(box: Box): Shape3 {
  return box.map(([a, b]) => b - a) as Shape3;
}

/** Copies the box out of a (z, y, x) array into a new Float32Array. */
export function cropTo(data: ArrayLike<number>, shape: Shape3, box: Box): Float32Array {
  const [, ny, nx] = shape;
  const [cz, cy, cx] = boxShape(box);
  const out = new Float32Array(cz * cy * cx);
  let o = 0;
  for (let z = box[0][0]; z < box[0][1]; z++) {
    for (let y = box[1][0]; y < box[1][1]; y++) {
      const s = (z * ny + y) * nx + box[2][0];
      for (let x = 0; x < cx; x++) out[o++] = data[s + x];
    }
  }
  return out;
}

/** Pastes a box-shaped array into a zero-filled array of `shape`. */
export function pasteInto<T extends Uint8Array | Float32Array>(part: T, shape: Shape3, box: Box, out: T): T {
  const [, ny, nx] = shape;
  const cx = box[2][1] - box[2][0];
  let o = 0;
  for (let z = box[0][0]; z < box[0][1]; z++) {
    for (let y = box[1][0]; y < box[1][1]; y++) {
      const d = (z * ny + y) * nx + box[2][0];
      out.set(part.subarray(o, o + cx), d);
      o += cx;
    }
  }
  return out;
}
