/**
 * Which slices break a series' grid, in words a user can find in the
 * scanner's list: the slices sorted along their normal, and each step that
 * is not the series' usual spacing named by the instance numbers on either
 * side and their positions along the normal, e.g. `missing slice between
 * instance 40 and 41 (z = 38.0 → 40.0 mm)`. Slices whose orientation
 * differs from the first are named too.
 *
 * @module
 */
import type { SliceHeader } from "./dicom_header.ts";

/** Most problems named; the rest are counted. */
const MAX_NAMED = 3;

const mm = (x: number) => x.toFixed(1);
const inst = (s: SliceHeader) => s.instance ?? "?";

/**
 * The problems of one series' slices (an empty list when they make one
 * regular grid, or when their geometry is unknown).
 */
export function describeGaps(slices: SliceHeader[]): string[] {
  const placed = slices.filter((s) => s.position?.length === 3 && s.orientation?.length === 6);
  if (placed.length < 2) return [];
  const o = placed[0].orientation!;
  const problems: string[] = [];
  const tilted = placed.filter((s) => s.orientation!.some((c, i) => Math.abs(c - o[i]) > 1e-3));
  if (tilted.length > 0) {
    problems.push(`orientation differs at instance ${tilted.slice(0, MAX_NAMED).map(inst).join(", ")}`);
  }
  const n = [o[1] * o[5] - o[2] * o[4], o[2] * o[3] - o[0] * o[5], o[0] * o[4] - o[1] * o[3]];
  // the normal's largest component positive: z is the scanner's z of an axial series (its y, x when coronal, sagittal)
  const big = n.reduce((k, c, i) => Math.abs(c) > Math.abs(n[k]) ? i : k, 0);
  if (n[big] < 0) n.forEach((c, i) => n[i] = -c);
  const z = (s: SliceHeader) => s.position![0] * n[0] + s.position![1] * n[1] + s.position![2] * n[2];
  const sorted = placed.filter((s) => !tilted.includes(s)).map((s) => ({ s, z: z(s) })).sort((a, b) => a.z - b.z);
  // listed in instance order where the instance numbers run against z
  if ((sorted[0].s.instance ?? 0) > (sorted.at(-1)!.s.instance ?? 0)) sorted.reverse();
  const steps = sorted.slice(1).map((b, i) => ({ a: sorted[i], b, d: Math.abs(b.z - sorted[i].z) }));
  if (steps.length === 0) return problems;
  // the lower median: with two steps (three slices, one missing) the smaller is the series' spacing
  const usual = [...steps.map((s) => s.d)].sort((a, b) => a - b)[Math.floor((steps.length - 1) / 2)];
  const tol = Math.max(1e-3, 0.01 * usual);
  for (const { a, b, d } of steps) {
    if (Math.abs(d - usual) <= tol) continue;
    const where = `instance ${inst(a.s)} and ${inst(b.s)} (z = ${mm(a.z)} → ${mm(b.z)} mm)`;
    const k = Math.round(d / usual) - 1;
    if (d < tol) problems.push(`two slices at one position: ${where}`);
    else if (k >= 1 && Math.abs(d - (k + 1) * usual) <= tol * (k + 1)) {
      problems.push(`${k === 1 ? "missing slice" : `${k} missing slices`} between ${where}`);
    } else problems.push(`spacing ${mm(d)} mm (not ${mm(usual)}) between ${where}`);
  }
  return problems.length > MAX_NAMED
    ? [...problems.slice(0, MAX_NAMED), `and ${problems.length - MAX_NAMED} more`]
    : problems;
}
