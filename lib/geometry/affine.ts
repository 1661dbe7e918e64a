/**
 * 4x4 affine helpers (row-major nested arrays, RAS+ millimetres) and the
 * NIfTI quaternion <-> matrix conversions, with nibabel's conventions.
 *
 * @module
 */

import type { Affine } from "../core/types.ts";

/** The 4x4 identity. */
export function identity(): Affine {
  return [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]];
}

/** Matrix product `a · b` of two 4x4 affines. */
export function multiply(a: Affine, b: Affine): Affine {
  const out = identity();
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 4; j++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += a[i][k] * b[k][j];
      out[i][j] = s;
    }
  }
  return out;
}

/** Determinant of a 3x3 matrix. */
export function det3(m: number[][]): number {
  return m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
    m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
    m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
}

/** Inverse of a 3x3 matrix; throws when singular. */
export function inv3(m: number[][]): number[][] {
  const d = det3(m);
  if (d === 0 || !Number.isFinite(d)) throw new RangeError("singular matrix");
  return [
    [
      (m[1][1] * m[2][2] - m[1][2] * m[2][1]) / d,
      (m[0][2] * m[2][1] - m[0][1] * m[2][2]) / d,
      (m[0][1] * m[1][2] - m[0][2] * m[1][1]) / d,
    ],
    [
      (m[1][2] * m[2][0] - m[1][0] * m[2][2]) / d,
      (m[0][0] * m[2][2] - m[0][2] * m[2][0]) / d,
      (m[0][2] * m[1][0] - m[0][0] * m[1][2]) / d,
    ],
    [
      (m[1][0] * m[2][1] - m[1][1] * m[2][0]) / d,
      (m[0][1] * m[2][0] - m[0][0] * m[2][1]) / d,
      (m[0][0] * m[1][1] - m[0][1] * m[1][0]) / d,
    ],
  ];
}

/** Inverse of an affine (linear part must be invertible). */
export function invert(a: Affine): Affine {
  const r = inv3(a.slice(0, 3).map((row) => row.slice(0, 3)));
  const out = identity();
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) out[i][j] = r[i][j];
    out[i][3] = -(r[i][0] * a[0][3] + r[i][1] * a[1][3] + r[i][2] * a[2][3]);
  }
  return out;
}

/** Voxel sizes: the Euclidean norms of the affine's first three columns. */
export function voxelSizes(a: Affine): [number, number, number] {
  const n = (j: number) => Math.hypot(a[0][j], a[1][j], a[2][j]);
  return [n(0), n(1), n(2)];
}

/** Whether every entry is finite. */
export function isFiniteAffine(a: Affine): boolean {
  return a.every((row) => row.every(Number.isFinite));
}

/** Largest absolute entry-wise difference between two affines. */
export function maxAbsDiff(a: Affine, b: Affine): number {
  let m = 0;
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) m = Math.max(m, Math.abs(a[i][j] - b[i][j]));
  return m;
}

/** NIfTI quaternion parameters of an affine: `qfac` is pixdim[0]. */
export interface Quaternion {
  /** Quaternion b, c, d (a is implied, non-negative). */
  b: number;
  c: number;
  d: number;
  /** Translation (qoffset_x, y, z). */
  offset: [number, number, number];
  /** Voxel sizes (pixdim[1..3]). */
  pixdim: [number, number, number];
  /** +1 or -1: sign of the third axis (left-handed storage). */
  qfac: number;
}

/**
 * The affine of NIfTI quaternion parameters, as nibabel's `get_qform`:
 * a = sqrt(1 - b² - c² - d²) (0 when that is slightly negative).
 */
export function quaternionToAffine(q: Quaternion): Affine {
  const { b, c, d } = q;
  const w2 = 1 - (b * b + c * c + d * d);
  const a = w2 < 0 ? 0 : Math.sqrt(w2);
  const r = [
    [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
    [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
    [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b],
  ];
  const z = [Math.abs(q.pixdim[0]), Math.abs(q.pixdim[1]), Math.abs(q.pixdim[2]) * (q.qfac < 0 ? -1 : 1)];
  const out = identity();
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) out[i][j] = r[i][j] * z[j];
    out[i][3] = q.offset[i];
  }
  return out;
}

/**
 * Quaternion parameters closest to `a` (NIfTI `mat44_to_quatern`): columns
 * normalised, orthogonalised by polar decomposition, qfac = -1 for a
 * left-handed matrix (third column negated).
 */
export function affineToQuaternion(a: Affine): Quaternion {
  const pix = voxelSizes(a).map((v) => (v === 0 ? 1 : v)) as [number, number, number];
  let m = [0, 1, 2].map((i) => [0, 1, 2].map((j) => a[i][j] / pix[j]));
  m = polarOrthogonal(m);
  let qfac = 1;
  if (det3(m) < 0) {
    qfac = -1;
    for (let i = 0; i < 3; i++) m[i][2] = -m[i][2];
  }
  // Rotation matrix -> quaternion (Shepperd's method), a >= 0.
  const [r11, r12, r13] = m[0];
  const [r21, r22, r23] = m[1];
  const [r31, r32, r33] = m[2];
  let qa, qb, qc, qd;
  const trace = r11 + r22 + r33 + 1;
  if (trace > 0.5) {
    qa = 0.5 * Math.sqrt(trace);
    qb = 0.25 * (r32 - r23) / qa;
    qc = 0.25 * (r13 - r31) / qa;
    qd = 0.25 * (r21 - r12) / qa;
  } else {
    const xd = 1 + r11 - (r22 + r33), yd = 1 + r22 - (r11 + r33), zd = 1 + r33 - (r11 + r22);
    if (xd > 1) {
      qb = 0.5 * Math.sqrt(xd);
      qc = 0.25 * (r12 + r21) / qb;
      qd = 0.25 * (r13 + r31) / qb;
      qa = 0.25 * (r32 - r23) / qb;
    } else if (yd > 1) {
      qc = 0.5 * Math.sqrt(yd);
      qb = 0.25 * (r12 + r21) / qc;
      qd = 0.25 * (r23 + r32) / qc;
      qa = 0.25 * (r13 - r31) / qc;
    } else {
      qd = 0.5 * Math.sqrt(zd);
      qb = 0.25 * (r13 + r31) / qd;
      qc = 0.25 * (r23 + r32) / qd;
      qa = 0.25 * (r21 - r12) / qd;
    }
    if (qa < 0) {
      qb = -qb;
      qc = -qc;
      qd = -qd;
    }
  }
  return { b: qb, c: qc, d: qd, offset: [a[0][3], a[1][3], a[2][3]], pixdim: pix, qfac };
}

/** Orthogonal polar factor of a non-singular 3x3 matrix (Newton iteration). */
export function polarOrthogonal(m: number[][]): number[][] {
  let x = m.map((r) => r.slice());
  for (let it = 0; it < 100; it++) {
    const xi = inv3(x);
    let delta = 0;
    const next = x.map((row, i) =>
      row.map((v, j) => {
        const n = 0.5 * (v + xi[j][i]);
        delta = Math.max(delta, Math.abs(n - v));
        return n;
      })
    );
    x = next;
    if (delta < 1e-15) break;
  }
  return x;
}
